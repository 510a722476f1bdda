import Foundation
import Glibc
import PPP
import PPTPNetwork
import SystemPackage
import Testing

/// resolv.conf handling on temporary files (never the real /etc/resolv.conf).
@Suite struct ResolvConfTests {
    let directory: String

    init() throws {
        directory = try makeTemporaryDirectory("pptp-resolv")
    }

    func cleanUp() {
        _ = try? FileManager.default.removeItem(atPath: directory)
    }

    static let odd: [UInt8] = Array("# from DHCP\r\nnameserver 192.0.2.53\noptions edns0".utf8) + [0xFF, 0x00, 0x7F]

    @Test func restoresFileByteForByte() throws {
        defer { cleanUp() }
        let path = directory + "/resolv.conf"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.odd)))
        let file = ResolvConf(path: path)
        let saved = try file.install(servers: [IPv4Address(203, 0, 113, 53)], searchDomains: ["example.test"])
        let ours = try String(contentsOfFile: path, encoding: .utf8)
        #expect(ours.hasPrefix(ResolvConf.marker))
        #expect(ours.contains("nameserver 203.0.113.53\n"))
        #expect(ours.contains("search example.test\n"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file.backupPath)) == Data(Self.odd))
        try file.restore(saved)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(Self.odd))
        #expect(!FileManager.default.fileExists(atPath: file.backupPath))
    }

    @Test func restoresSymbolicLinkAndAbsence() throws {
        defer { cleanUp() }
        let target = directory + "/stub-resolv.conf"
        #expect(FileManager.default.createFile(atPath: target, contents: Data(Self.odd)))
        let link = directory + "/resolv.conf"
        #expect(symlink(target, link) == 0)
        let linked = ResolvConf(path: link)
        let saved = try linked.install(servers: [IPv4Address(203, 0, 113, 53)])
        var status = stat()
        #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFREG)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(Self.odd))
        try linked.restore(saved)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)

        let absent = ResolvConf(path: directory + "/absent.conf")
        let none = try absent.install(servers: [IPv4Address(203, 0, 113, 53)])
        #expect(FileManager.default.fileExists(atPath: absent.path))
        try absent.restore(none)
        #expect(!FileManager.default.fileExists(atPath: absent.path))
    }

    @Test func recoversAfterACrashedRun() throws {
        defer { cleanUp() }
        let path = directory + "/resolv.conf"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.odd)))
        let file = ResolvConf(path: path)
        _ = try file.install(servers: [IPv4Address(203, 0, 113, 53)])
        // A second run finds the marker and refuses until the first run's change is repaired.
        #expect(throws: NetworkError.resolvConfAlreadyOurs) {
            try file.install(servers: [IPv4Address(203, 0, 113, 54)])
        }
        #expect(try file.recover())
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(Self.odd))
        #expect(try file.recover() == false)
    }

    @Test func leavesAFileSomeoneElseRewrote() throws {
        defer { cleanUp() }
        let path = directory + "/resolv.conf"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.odd)))
        let file = ResolvConf(path: path)
        let saved = try file.install(servers: [IPv4Address(203, 0, 113, 53)])
        let theirs = Data("nameserver 198.51.100.53\n".utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: theirs))
        try file.restore(saved)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == theirs)
    }
}

import Foundation
import NIOCore
import PPP
import Testing

@testable import PPTPCapture

/// Counts against tshark, and the inner pcap read back by tshark.
@Suite(.enabled(if: TsharkRunner.isAvailable, "tshark is not installed: comparison with tshark skipped"))
struct DecodeTsharkTests {
    @Test(arguments: GoldenCapture.all)
    func controlMessagesAndGREPacketsMatchTshark(capture: GoldenCapture) throws {
        let report = try capture.decode()
        // One field value per control message (several messages in one segment give a comma-separated list).
        let types = try TsharkRunner.lines([
            "-r", capture.pcap, "-Y", "pptp", "-T", "fields", "-e", "pptp.control_message_type",
        ])
        .flatMap { $0.split(separator: ",") }
        #expect(report.statistics.controlMessages == types.count)
        let ours = report.timeline.filter { $0.kind == .control }.map { $0.text.split(separator: " ")[1] }
        #expect(ours.count == types.count)
        let gre = try TsharkRunner.lines(["-r", capture.pcap, "-Y", "gre", "-T", "fields", "-e", "gre.key.call_id"])
        #expect(report.statistics.greDatagrams == gre.count)
        let call = try #require(report.calls.first)
        #expect(call.clientToServer.grePackets + call.serverToClient.grePackets == gre.count)
        // Call IDs as tshark sees them in the GRE keys.
        let callIDs = Set(gre.compactMap { $0.hasPrefix("0x") ? UInt16($0.dropFirst(2), radix: 16) : UInt16($0) })
        #expect(callIDs == Set([call.clientCallID, call.serverCallID].compactMap { $0 }))
    }

    @Test(
        arguments: GoldenCapture.encrypted.filter { capture in
            ["01", "03b", "10"].contains { capture.name.hasPrefix($0) }
        }
    )
    func innerPcapOpensInTshark(capture: GoldenCapture) throws {
        let report = try capture.decodeWithPassword()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pptp-inner-\(capture.name)-\(getpid()).pcap"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try CaptureFile.write(try CaptureDecoder.innerPcap(report), to: path)
        let frames = try TsharkRunner.lines(["-r", path, "-T", "fields", "-e", "frame.number"])
        #expect(frames.count == report.innerPackets.count)
        #expect(frames.count == (try capture.innerPackets()).count)
        let icmp = try TsharkRunner.lines(["-r", path, "-Y", "icmp.type == 8", "-T", "fields", "-e", "ip.src"])
        #expect(icmp.count >= 6)
        let times = try TsharkRunner.lines(["-r", path, "-T", "fields", "-e", "frame.time_epoch"])
        #expect(times.first.map { $0.hasPrefix(String(report.innerPackets[0].time.seconds)) } == true)
    }
}

/// Word lists against the captured exchanges.
@Suite struct PasswordSearchTests {
    static let list: [[UInt8]] = [
        "123456", "password", "Alice-Secret-1", "Erin-MSCHAPv1", "Frank-CHAP-MD5", "Grace-PAP-Plain",
    ]
    .map { Array($0.utf8) }

    @Test(arguments: [("01", 3, "MS-CHAPv2"), ("05", 4, "MS-CHAPv1"), ("06", 5, "CHAP-MD5"), ("07", 6, "PAP")])
    func findsThePasswordInTheList(prefix: String, position: Int, method: String) throws {
        let capture = try GoldenCapture.named(prefix)
        var report = try capture.decode()
        let bytes = try CaptureFile.read(path: capture.pcap)
        CaptureDecoder.searchWordList(
            Self.list,
            report: &report,
            bytes: bytes,
            options: DecodeOptions(path: capture.pcap),
            clock: ContinuousClock()
        )
        let search = try #require(report.passwordSearch)
        let result = try #require(search.results.first)
        #expect(result.found)
        #expect(result.method == method)
        #expect(result.candidateNumber == position)
        #expect(result.password == nil)  // masked without showSecrets
        #expect(search.candidatesTried == position)
        #expect(search.candidatesPerSecond > 0)
        #expect(
            report.headline.first?.hasPrefix("PASSWORD FOUND in the word list for user \"\(capture.user)\"") == true
        )
        #expect(report.weaknesses.first?.severity == .critical)
        if method.hasPrefix("MS-CHAP") {
            // Found, then used: the session is decrypted with it.
            #expect(report.calls.first?.mppe.decryption == "decrypted")
            #expect(!report.innerPackets.isEmpty)
        }
    }

    @Test func recoversTheLastTwoOctetsOfTheNTHashFromTheCaptureAlone() throws {
        let capture = try GoldenCapture.named("01")
        let report = try capture.decode()
        let search = PasswordSearch(exchanges: report.exchanges)
        let tail = try #require(search.recoveredHashTails.first ?? nil)
        let hash = MSCryptoFixture.ntHash(capture.password)
        #expect(tail == Array(hash[14..<16]))
    }

    @Test func passwordNotInTheListIsNotFound() throws {
        let capture = try GoldenCapture.named("02")
        var report = try capture.decode()
        CaptureDecoder.searchWordList(
            [Array("nope".utf8), Array("still-nope".utf8)],
            report: &report,
            bytes: try CaptureFile.read(path: capture.pcap),
            options: DecodeOptions(),
            clock: ContinuousClock()
        )
        #expect(report.passwordSearch?.results.first?.found == false)
        #expect(report.passwordSearch?.candidatesTried == 2)
    }

    @Test func wordListLinesAreSplitOnLineEnds() {
        let list = PasswordSearch.candidates(fromWordList: Array("a\r\nbb\n\nccc".utf8))
        #expect(list == [Array("a".utf8), Array("bb".utf8), Array("ccc".utf8)])
    }
}

/// The golden captures' secrets files, through the one `chap-secrets` reader.
@Suite struct CaptureSecretsFileTests {
    @Test func readsTheCaptureSecretsFiles() throws {
        for capture in GoldenCapture.all {
            let text = try String(contentsOfFile: capture.directory + "/config/chap-secrets", encoding: .utf8)
            let entry = try ChapSecrets(parsing: text).entry(forUser: capture.user, server: "pptpd")
            #expect(entry?.secret == .password(capture.password), "\(capture.name)")
        }
    }
}

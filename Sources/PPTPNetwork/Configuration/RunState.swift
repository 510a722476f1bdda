import Glibc
import PPP
import SystemPackage

/// What one run of `pptp connect` has installed, kept on disk as it happens, so that a run killed
/// with SIGKILL (no chance to undo anything) is undone by the next one (issue 22 item 12: the host
/// route to the server stayed behind, and the next run did not remove it).
///
/// One file per run, `DIRECTORY/connect-PID.state`, rewritten atomically (a temporary file, then
/// rename) after every change `NetworkChanges` records. It names the run's process and network
/// namespace, so that a later run removes only what a dead run of its own namespace left (the file
/// system is shared by every namespace, routes are not), and never what a live client installed.
///
/// The format is one change a line: `route DEST via GW|- dev IFINDEX|- src ADDR|- metric N|- table N`,
/// `address IFINDEX LOCAL PEER|- LENGTH`, `resolvconf PATH`, `resolved IFNAME`, after `pid N` and
/// `netns INODE`.
public struct RunState: Sendable {
    /// Where the files are: /run/pptp (tmpfs: a reboot forgets them, as it forgets the routes).
    public static let defaultDirectory = "/run/pptp"

    public let directory: String
    public let path: String
    /// The process the file speaks for (this one, but for tests).
    let pid: pid_t

    /// The state file of this process in `directory` (created, mode 0700, when missing).
    public init(directory: String = RunState.defaultDirectory) throws(NetworkError) {
        try self.init(directory: directory, pid: getpid())
    }

    init(directory: String, pid: pid_t) throws(NetworkError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw .system(.open, Errno(rawValue: errno)) }
        self.directory = directory
        self.pid = pid
        self.path = directory + "/connect-\(pid).state"
    }

    /// Replaces the file with `changes` (atomically).
    func write(_ changes: [NetworkChanges.Change]) {
        var text = "pid \(pid)\nnetns \(Self.namespaceInode)\n"
        for change in changes { text += Self.line(change) + "\n" }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written == bytes.count { rename(temporary, path) } else { unlink(temporary) }
    }

    /// Removes the file (the run undid everything).
    func remove() {
        unlink(path)
    }

    /// Undoes what dead runs of this network namespace left in `directory` and removes their files.
    /// Returns a line per thing undone (for the log).
    public static func recoverDeadRuns(
        in directory: String = RunState.defaultDirectory,
        netlink: Netlink
    ) -> [String] {
        guard let names = try? listDirectory(directory) else { return [] }
        var report: [String] = []
        let namespace = namespaceInode
        for name in names where name.hasPrefix("connect-") && name.hasSuffix(".state") {
            let path = directory + "/" + name
            guard let text = try? readWholeFile(path).map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            let lines = text.split(separator: "\n").map(String.init)
            guard let pid = lines.first(where: { $0.hasPrefix("pid ") }).flatMap({ pid_t($0.dropFirst(4)) }),
                lines.contains("netns \(namespace)"), pid != getpid(), !isPPTP(pid)
            else { continue }
            let changes = NetworkChanges(netlink: netlink)
            for line in lines { if let change = parse(line) { changes.record(change) } }
            let undone = changes.changes
            let errors = changes.undo()
            for change in undone { report.append("run \(pid) left \(describe(change)): removed") }
            for error in errors { report.append("run \(pid): \(error)") }
            // resolv.conf: the backup beside the file has the original; `recover` puts it back only
            // if the file still carries our marker.
            for line in lines where line.hasPrefix("resolvconf ") {
                let file = ResolvConf(path: String(line.dropFirst("resolvconf ".count)))
                do throws(NetworkError) {
                    if try file.recover() { report.append("run \(pid) left DNS in \(file.path): restored") }
                } catch {
                    report.append("run \(pid): \(file.path): \(error)")
                }
            }
            unlink(path)
        }
        return report
    }

    /// Whether `pid` is a live pptp process (a reused PID of another program does not count).
    static func isPPTP(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM,
            let command = try? readWholeFile("/proc/\(pid)/cmdline")
        else { return false }
        return String(decoding: command, as: UTF8.self).contains("pptp")
    }

    /// The inode of this thread's network namespace (what `ip netns identify` compares).
    static var namespaceInode: UInt64 {
        var status = stat()
        guard stat("/proc/thread-self/ns/net", &status) == 0 else { return 0 }
        return UInt64(status.st_ino)
    }

    static func describe(_ change: NetworkChanges.Change) -> String {
        switch change {
        case .route(let route): return "route \(route)"
        case .address(let address): return "address \(address)"
        case .resolvConf(let file, _): return "DNS in \(file.path)"
        case .resolvedLink(let name): return "DNS of link \(name)"
        }
    }

    static func line(_ change: NetworkChanges.Change) -> String {
        func text(_ value: (some CustomStringConvertible)?) -> String { value.map { "\($0)" } ?? "-" }
        switch change {
        case .route(let route):
            return
                "route \(route.destination) via \(text(route.gateway)) dev \(text(route.interfaceIndex)) src \(text(route.preferredSource)) metric \(text(route.metric)) table \(route.table)"
        case .address(let address):
            return "address \(address.interfaceIndex) \(address.local) \(text(address.peer)) \(address.prefixLength)"
        case .resolvConf(let file, _): return "resolvconf \(file.path)"
        case .resolvedLink(let name): return "resolved \(name)"
        }
    }

    static func parse(_ line: String) -> NetworkChanges.Change? {
        let words = line.split(separator: " ").map(String.init)
        func field(_ name: String) -> String? {
            guard let index = words.firstIndex(of: name), index + 1 < words.count, words[index + 1] != "-" else {
                return nil
            }
            return words[index + 1]
        }
        switch words.first {
        case "route":
            guard words.count > 1, let destination = IPv4Prefix(words[1]) else { return nil }
            return .route(
                Route(
                    destination: destination,
                    gateway: field("via").flatMap(IPv4Address.init),
                    interfaceIndex: field("dev").flatMap { UInt32($0) },
                    preferredSource: field("src").flatMap(IPv4Address.init),
                    metric: field("metric").flatMap { UInt32($0) },
                    table: field("table").flatMap { UInt32($0) } ?? Route.mainTable
                )
            )
        case "address":
            guard words.count == 5, let index = UInt32(words[1]), let local = IPv4Address(words[2]),
                let length = Int(words[4])
            else { return nil }
            return .address(
                InterfaceAddress(interfaceIndex: index, local: local, peer: IPv4Address(words[3]), prefixLength: length)
            )
        case "resolvconf":
            return nil  // recovered from its backup by `recoverDeadRuns`
        case "resolved":
            guard words.count == 2 else { return nil }
            return .resolvedLink(words[1])
        default:
            return nil
        }
    }
}

/// The names in a directory (without . and ..).
func listDirectory(_ path: String) throws(NetworkError) -> [String] {
    guard let directory = opendir(path) else { throw .system(.open, Errno(rawValue: errno)) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

import Crypto
import Foundation
import Glibc
import PPP
import PPTPNetwork

/// Two (or more) throw-away network namespaces joined by a veth, with `pptp serve` in one and
/// `pptp connect` in the others, as separate processes: what `pptp demo`, the end-to-end tests
/// and the benchmarks use. Addresses come from the documentation ranges only (RFC 5737):
/// 203.0.113.0/24 outside, 198.51.100.0/24 inside the tunnel. Everything is removed by
/// `tearDown()` (also called when the object goes away).
public final class Testbed: @unchecked Sendable {
    // Unchecked: the mutable state (processes) is touched by one thread at a time, the test or
    // the demo; the class exists to tie cleanup to its lifetime.

    public let executable: String
    public let directory: String
    public let serverNamespace: NetworkNamespace
    public private(set) var clientNamespaces: [NetworkNamespace] = []
    public private(set) var server: ChildProcess?
    public private(set) var clients: [ChildProcess] = []
    public let serverAddress = IPv4Address(203, 0, 113, 1)
    /// The server's tunnel address and the client pool.
    public let tunnelAddress = IPv4Address(198, 51, 100, 1)
    public let poolStart = IPv4Address(198, 51, 100, 10)
    public let poolEnd = IPv4Address(198, 51, 100, 200)
    private var torn = false
    private var bridged = false

    /// The outer address of client `index` (0-based).
    public func clientAddress(_ index: Int) -> IPv4Address {
        IPv4Address(rawValue: serverAddress.rawValue + 1 + UInt32(index))
    }

    public var serverLog: String { directory + "/serve.log" }
    public func clientLog(_ index: Int) -> String { directory + "/connect-\(index).log" }
    public var statusSocket: String { directory + "/status.sock" }

    /// Creates the server namespace and `clients` client namespaces, each joined to the
    /// server's by its own veth (a /30-like /24 per pair, all in 203.0.113.0/24).
    public init(executable: String, clients: Int = 1, prefix: String = "pptp-tb") throws {
        self.executable = executable
        let template = NSTemporaryDirectory() + "pptp-testbed-XXXXXX"
        var path = Array(template.utf8CString)
        guard let made = mkdtemp(&path) else { throw NetworkError.closed }
        directory = String(cString: made)
        serverNamespace = try NetworkNamespace.create(prefix: prefix)
        do {
            if clients == 1 {
                let client = try NetworkNamespace.create(prefix: prefix)
                clientNamespaces.append(client)
                _ = try VethPair.create(serverNamespace, serverAddress, client, clientAddress(0))
            } else {
                // Several clients: a bridge in the server namespace, one veth per client.
                try serverNamespace.ip(["link", "add", "br0", "type", "bridge"])
                try serverNamespace.ip(["addr", "add", "\(serverAddress)/24", "dev", "br0"])
                try serverNamespace.ip(["link", "set", "br0", "up"])
                bridged = true
                for index in 0..<clients {
                    let client = try NetworkNamespace.create(prefix: prefix)
                    clientNamespaces.append(client)
                    let stem = "tb\(getpid() % 10000)c\(index)"
                    try Command.check([
                        "ip", "link", "add", stem + "s", "netns", serverNamespace.name, "type", "veth", "peer", "name",
                        "eth0", "netns", client.name,
                    ])
                    try serverNamespace.ip(["link", "set", stem + "s", "master", "br0"])
                    try serverNamespace.ip(["link", "set", stem + "s", "up"])
                    try client.ip(["addr", "add", "\(clientAddress(index))/24", "dev", "eth0"])
                    try client.ip(["link", "set", "eth0", "up"])
                }
            }
        } catch {
            tearDown()
            throw error
        }
    }

    deinit { tearDown() }

    /// Writes the server's configuration and secrets; returns the configuration path.
    @discardableResult
    public func writeServerConfiguration(
        users: [(user: String, secret: String)],
        methods: [String] = ["mschapv2"],
        strengths: [Int] = [128],
        required: Bool = true,
        stateful: Bool = false,
        echoInterval: Int = 30,
        echoFailures: Int = 4,
        extraTunnel: String = "",
        extra: String = "",
        listen: String? = nil
    ) throws -> String {
        let secrets = users.map { "\"\($0.user)\" * \"\($0.secret)\" *" }.joined(separator: "\n") + "\n"
        try secrets.write(toFile: directory + "/chap-secrets", atomically: true, encoding: .utf8)
        let config = """
            listen = "\(listen ?? serverAddress.description)"
            name = "pptpd"
            [tunnel]
            local = "\(tunnelAddress)"
            pool = ["\(poolStart)-\(poolEnd)"]
            dns = ["198.51.100.53"]
            mtu = 1400
            \(extraTunnel)
            [auth]
            methods = [\(methods.map { "\"\($0)\"" }.joined(separator: ", "))]
            secrets = "\(directory)/chap-secrets"
            [encryption]
            required = \(required)
            strengths = [\(strengths.map(String.init).joined(separator: ", "))]
            stateful = \(stateful)
            [keepalive]
            lcp_echo_interval = \(echoInterval)
            lcp_echo_failures = \(echoFailures)
            [status]
            socket = "\(statusSocket)"
            \(extra)
            """
        let path = directory + "/pptp.toml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `pptp serve` in the server namespace and waits until it listens.
    @discardableResult
    public func startServer(arguments: [String] = [], timeout: Double = 20) throws -> ChildProcess {
        let process = try serverNamespace.spawn(
            [executable, "serve", "--config", directory + "/pptp.toml", "--log-level", "debug"] + arguments,
            output: .file(serverLog)
        )
        server = process
        guard waitForLog(serverLog, containing: "listening on", timeout: timeout) else {
            throw TestbedError.serverDidNotStart(log: (try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? "")
        }
        return process
    }

    /// Stops the server (SIGTERM) and returns its exit status.
    @discardableResult
    public func stopServer() -> Int32? {
        guard let server else { return nil }
        self.server = nil
        return try? server.terminate(graceNanoseconds: 5_000_000_000)
    }

    /// Starts `pptp connect` in client namespace `index`.
    @discardableResult
    public func startClient(
        _ index: Int = 0,
        user: String,
        password: String,
        server: IPv4Address? = nil,
        arguments: [String] = []
    ) throws -> ChildProcess {
        let passwordFile = directory + "/password-\(index)"
        try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let process = try clientNamespaces[index].spawn(
            [
                executable, "connect", (server ?? serverAddress).description, "--user", user, "--password-file",
                passwordFile,
                "--log-level", "debug",
            ] + arguments,
            output: .file(clientLog(index))
        )
        if clients.count <= index {
            clients.append(contentsOf: Array(repeating: process, count: index + 1 - clients.count))
        }
        clients[index] = process
        return process
    }

    /// Waits until the client's tunnel is up; false on time-out (or if the client exited).
    public func waitForTunnel(_ index: Int = 0, timeout: Double = 30) -> Bool {
        waitForLog(clientLog(index), containing: "tunnel up:", timeout: timeout)
    }

    /// Waits until `path` contains `text`.
    public func waitForLog(_ path: String, containing text: String, timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let content = try? String(contentsOfFile: path, encoding: .utf8), content.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    public func log(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// The tunnel address a client got (from its log line "tunnel up: DEV ADDRESS peer …").
    public func clientTunnelAddress(_ index: Int = 0) -> IPv4Address? {
        guard let line = log(clientLog(index)).split(separator: "\n").first(where: { $0.contains("tunnel up:") }) else {
            return nil
        }
        let words = line.split(separator: " ")
        guard let index = words.firstIndex(of: "up:"), index + 2 < words.count else { return nil }
        return IPv4Address(String(words[index + 2]))
    }

    /// Removes everything: processes, namespaces (and so their interfaces), files.
    public func tearDown() {
        guard !torn else { return }
        torn = true
        for client in clients { _ = try? client.terminate(graceNanoseconds: 3_000_000_000) }
        if let server { _ = try? server.terminate(graceNanoseconds: 5_000_000_000) }
        for namespace in clientNamespaces { try? namespace.delete() }
        try? serverNamespace.delete()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

public enum TestbedError: Error, CustomStringConvertible {
    case serverDidNotStart(log: String)
    case socket(String, Int32)

    public var description: String {
        switch self {
        case .serverDidNotStart(let log): return "pptp serve did not start:\n\(log)"
        case .socket(let call, let error): return "\(call): \(String(cString: strerror(error)))"
        }
    }
}

import MSCrypto
import NIOCore
import PPP
import TOMLKit

/// A configuration error with its place: file, line and key.
public struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var key: String?
    public var message: String

    public var description: String {
        var place = path
        if let line { place += ":\(line)" }
        if let key { return "\(place): \(key): \(message)" }
        return "\(place): \(message)"
    }
}

/// Reads `pptp.toml`. Unknown keys are errors (a misspelt limit must not be silently ignored).
///
/// ```toml
/// listen = "0.0.0.0"
/// port = 1723
/// name = "pptpd"
/// [tunnel]
/// local = "203.0.113.1"
/// pool = ["203.0.113.10-203.0.113.200"]
/// dns = ["198.51.100.53"]
/// mtu = 1400
/// [auth]
/// methods = ["mschapv2"]          # pap, chap-md5, mschapv1, mschapv2
/// secrets = "/etc/ppp/chap-secrets"
/// [encryption]
/// required = true
/// strengths = [128]               # 40, 56, 128
/// stateful = false
/// [limits]
/// max_sessions = 1000
/// max_sessions_per_peer = 64
/// auth_failures_per_minute = 5
/// handshake_timeout = 30
/// max_unauthenticated_connections = 1000
/// max_unauthenticated_per_peer = 16
/// max_unauthenticated_calls = 512
/// authentication_timeout = 15
/// auth_failures_per_user = 10
/// user_backoff = 60
/// [keepalive]
/// lcp_echo_interval = 30          # 0 disables
/// lcp_echo_failures = 4
/// control_echo_interval = 60
/// [status]
/// socket = "/run/pptp/status.sock"
/// ```
public struct ConfigurationLoader {
    public let path: String
    private let text: String
    private let lines: [Substring]

    public init(path: String, text: String) {
        self.path = path
        self.text = text
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The line of `key` in `[table]` (or at the top level), found in the text, for messages.
    func line(of key: String, in table: String?) -> Int? {
        var current: String?
        for (index, raw) in lines.enumerated() {
            let line = raw.drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("[") {
                current = String(line.dropFirst().prefix(while: { $0 != "]" }))
                continue
            }
            guard current == table else { continue }
            let name = line.prefix(while: { $0 != "=" && $0 != " " && $0 != "\t" })
            if name == key || name == "\"\(key)\"" { return index + 1 }
        }
        if let table {
            for (index, raw) in lines.enumerated() where raw.drop(while: { $0 == " " }).hasPrefix("[\(table)]") {
                return index + 1
            }
        }
        return nil
    }

    func error(_ key: String, in table: String?, _ message: String) -> ConfigurationError {
        ConfigurationError(
            path: path,
            line: line(of: key, in: table),
            key: table.map { "\($0).\(key)" } ?? key,
            message: message
        )
    }

    public func load(
        base: ServerConfiguration = ServerConfiguration()
    ) throws(ConfigurationError) -> ServerConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(path: path, line: error.source.begin.line, key: nil, message: error.description)
        } catch {
            throw ConfigurationError(path: path, line: nil, key: nil, message: "not valid TOML")
        }
        var config = base
        let topKeys: Set<String> = [
            "listen", "port", "name", "host_name", "vendor", "tunnel", "auth", "encryption", "limits", "keepalive",
            "status",
        ]
        for key in root.keys where !topKeys.contains(key) {
            throw error(key, in: nil, "unknown key (expected one of: \(topKeys.sorted().joined(separator: ", ")))")
        }
        if let v = try string(root, "listen", in: nil) { config.listenAddress = v }
        if let v = try int(root, "port", in: nil, range: 1...65535) { config.port = v }
        if let v = try string(root, "name", in: nil) { config.name = v }
        if let v = try string(root, "host_name", in: nil) { config.hostName = v }
        if let v = try string(root, "vendor", in: nil) { config.vendor = v }

        if let tunnel = try table(root, "tunnel") {
            try only(tunnel, ["local", "pool", "dns", "nbns", "mtu", "ipv6", "device", "overcommit"], in: "tunnel")
            if let v = try bool(tunnel, "overcommit", in: "tunnel") { config.overcommitPool = v }
            if let v = try address(tunnel, "local", in: "tunnel") { config.localAddress = v }
            if let list = try strings(tunnel, "pool", in: "tunnel") {
                var ranges: [ClosedRange<IPv4Address>] = []
                for item in list {
                    guard let range = AddressPool.parseRange(item) else {
                        throw error("pool", in: "tunnel", "'\(item)' is not an address, a range 'A-B' or a CIDR block")
                    }
                    ranges.append(range)
                }
                guard !ranges.isEmpty else { throw error("pool", in: "tunnel", "the pool is empty") }
                config.pool = ranges
            }
            if let v = try addresses(tunnel, "dns", in: "tunnel") { config.dns = v }
            if let v = try addresses(tunnel, "nbns", in: "tunnel") { config.nbns = v }
            if let v = try int(tunnel, "mtu", in: "tunnel", range: 576...1500) { config.mtu = v }
            if let v = try bool(tunnel, "ipv6", in: "tunnel") { config.ipv6 = v }
            if let v = try string(tunnel, "device", in: "tunnel") { config.tunName = v }
            if config.pool.contains(where: { $0.contains(config.localAddress) }) {
                throw error("local", in: "tunnel", "the local address \(config.localAddress) is inside the client pool")
            }
        }

        if let auth = try table(root, "auth") {
            try only(auth, ["methods", "secrets"], in: "auth")
            if let list = try strings(auth, "methods", in: "auth") {
                var methods: [AuthenticationMethod] = []
                for name in list {
                    guard let method = Self.method(named: name) else {
                        throw error(
                            "methods",
                            in: "auth",
                            "unknown method '\(name)' (pap, chap-md5, mschapv1, mschapv2)"
                        )
                    }
                    methods.append(method)
                }
                guard !methods.isEmpty else { throw error("methods", in: "auth", "at least one method is needed") }
                // Strongest first: the server proposes MS-CHAPv2 when allowed.
                let order: [AuthenticationMethod] = [.msCHAPv2, .msCHAPv1, .chapMD5, .pap]
                config.policy.authentication = order.filter(methods.contains)
            }
            if let v = try string(auth, "secrets", in: "auth") { config.secretsPath = v }
        }

        if let encryption = try table(root, "encryption") {
            try only(encryption, ["required", "strengths", "stateful"], in: "encryption")
            var policy = config.policy.encryption
            if let v = try bool(encryption, "required", in: "encryption") { policy.required = v }
            if let list = try ints(encryption, "strengths", in: "encryption") {
                var strengths = Set<MPPEKeyStrength>()
                for bits in list {
                    switch bits {
                    case 40: strengths.insert(.bits40)
                    case 56: strengths.insert(.bits56)
                    case 128: strengths.insert(.bits128)
                    default:
                        throw error("strengths", in: "encryption", "\(bits) is not an MPPE key length (40, 56, 128)")
                    }
                }
                policy.strengths = strengths
            }
            if let v = try bool(encryption, "stateful", in: "encryption") { policy.allowStateful = v }
            if policy.required && policy.strengths.isEmpty {
                throw error("strengths", in: "encryption", "encryption is required but no key length is allowed")
            }
            config.policy.encryption = policy
        }
        if config.policy.encryption.required && !config.policy.authentication.contains(where: \.providesMPPEKeys) {
            throw ConfigurationError(
                path: path,
                line: line(of: "methods", in: "auth"),
                key: "auth.methods",
                message:
                    "MPPE is required but none of the allowed methods (\(config.policy.authentication.map(\.rawValue).joined(separator: ", "))) provides keys; allow mschapv2 or set encryption.required = false"
            )
        }

        if let limits = try table(root, "limits") {
            try only(
                limits,
                [
                    "max_sessions", "max_sessions_per_peer", "auth_failures_per_minute", "handshake_timeout",
                    "max_unauthenticated_connections", "max_unauthenticated_per_peer", "max_unauthenticated_calls",
                    "authentication_timeout", "auth_failures_per_user", "user_backoff",
                ],
                in: "limits"
            )
            if let v = try int(limits, "max_sessions", in: "limits", range: 1...1_000_000) {
                config.limits.maximumSessions = v
            }
            if let v = try int(limits, "max_sessions_per_peer", in: "limits", range: 1...1_000_000) {
                config.limits.maximumSessionsPerPeer = v
            }
            if let v = try int(limits, "auth_failures_per_minute", in: "limits", range: 1...10_000) {
                config.limits.authenticationFailuresPerMinute = v
            }
            if let v = try int(limits, "handshake_timeout", in: "limits", range: 1...3600) {
                config.limits.handshakeTimeout = .seconds(Int64(v))
            }
            if let v = try int(limits, "max_unauthenticated_connections", in: "limits", range: 1...1_000_000) {
                config.limits.maximumUnauthenticatedConnections = v
            }
            if let v = try int(limits, "max_unauthenticated_per_peer", in: "limits", range: 1...1_000_000) {
                config.limits.maximumUnauthenticatedPerPeer = v
            }
            if let v = try int(limits, "max_unauthenticated_calls", in: "limits", range: 1...1_000_000) {
                config.limits.maximumUnauthenticatedCalls = v
            }
            if let v = try int(limits, "authentication_timeout", in: "limits", range: 1...3600) {
                config.limits.authenticationTimeout = .seconds(Int64(v))
            }
            if let v = try int(limits, "auth_failures_per_user", in: "limits", range: 1...10_000) {
                config.limits.authenticationFailuresPerUser = v
            }
            if let v = try int(limits, "user_backoff", in: "limits", range: 1...86_400) {
                config.limits.userBackoff = .seconds(Int64(v))
            }
        }
        if let keepalive = try table(root, "keepalive") {
            try only(keepalive, ["lcp_echo_interval", "lcp_echo_failures", "control_echo_interval"], in: "keepalive")
            if let v = try int(keepalive, "lcp_echo_interval", in: "keepalive", range: 0...3600) {
                config.lcpEchoInterval = v == 0 ? nil : .seconds(Int64(v))
            }
            if let v = try int(keepalive, "lcp_echo_failures", in: "keepalive", range: 1...100) {
                config.lcpEchoFailures = v
            }
            if let v = try int(keepalive, "control_echo_interval", in: "keepalive", range: 1...3600) {
                config.controlEchoInterval = .seconds(Int64(v))
            }
        }
        if let status = try table(root, "status") {
            try only(status, ["socket"], in: "status")
            if let v = try string(status, "socket", in: "status") { config.statusSocketPath = v }
        }
        return config
    }

    static func method(named name: String) -> AuthenticationMethod? {
        switch name.lowercased() {
        case "pap": return .pap
        case "chap", "chap-md5", "md5": return .chapMD5
        case "mschap", "mschapv1", "ms-chap", "ms-chapv1": return .msCHAPv1
        case "mschapv2", "mschap-v2", "ms-chapv2", "ms-chap-v2": return .msCHAPv2
        default: return nil
        }
    }

    // MARK: - Typed accessors

    private func only(_ table: TOMLTable, _ keys: Set<String>, in name: String) throws(ConfigurationError) {
        for key in table.keys where !keys.contains(key) {
            throw error(key, in: name, "unknown key (expected one of: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    private func table(_ root: TOMLTable, _ key: String) throws(ConfigurationError) -> TOMLTable? {
        guard let value = root[key] else { return nil }
        guard let table = value.table else { throw error(key, in: nil, "must be a table ([\(key)])") }
        return table
    }

    private func string(_ table: TOMLTable, _ key: String, in name: String?) throws(ConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw error(key, in: name, "must be a string") }
        return string
    }

    private func int(
        _ table: TOMLTable,
        _ key: String,
        in name: String?,
        range: ClosedRange<Int>
    ) throws(ConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let int = value.int else { throw error(key, in: name, "must be an integer") }
        guard range.contains(int) else {
            throw error(key, in: name, "\(int) is out of range \(range.lowerBound)…\(range.upperBound)")
        }
        return int
    }

    private func bool(_ table: TOMLTable, _ key: String, in name: String?) throws(ConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let bool = value.bool else { throw error(key, in: name, "must be true or false") }
        return bool
    }

    private func strings(_ table: TOMLTable, _ key: String, in name: String?) throws(ConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        if let single = value.string { return [single] }
        guard let array = value.array else { throw error(key, in: name, "must be a string or a list of strings") }
        var out: [String] = []
        for item in array {
            guard let string = item.string else { throw error(key, in: name, "every element must be a string") }
            out.append(string)
        }
        return out
    }

    private func ints(_ table: TOMLTable, _ key: String, in name: String?) throws(ConfigurationError) -> [Int]? {
        guard let value = table[key] else { return nil }
        if let single = value.int { return [single] }
        guard let array = value.array else { throw error(key, in: name, "must be an integer or a list of integers") }
        var out: [Int] = []
        for item in array {
            guard let int = item.int else { throw error(key, in: name, "every element must be an integer") }
            out.append(int)
        }
        return out
    }

    private func address(_ table: TOMLTable, _ key: String, in name: String?) throws(ConfigurationError) -> IPv4Address?
    {
        guard let text = try string(table, key, in: name) else { return nil }
        guard let address = IPv4Address(text) else { throw error(key, in: name, "'\(text)' is not an IPv4 address") }
        return address
    }

    private func addresses(
        _ table: TOMLTable,
        _ key: String,
        in name: String?
    ) throws(ConfigurationError) -> [IPv4Address]? {
        guard let list = try strings(table, key, in: name) else { return nil }
        var out: [IPv4Address] = []
        for text in list {
            guard let address = IPv4Address(text) else {
                throw error(key, in: name, "'\(text)' is not an IPv4 address")
            }
            out.append(address)
        }
        return out
    }
}

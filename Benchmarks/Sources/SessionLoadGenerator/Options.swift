import Glibc
import NIOCore
import PPP

/// The command line of the load generator.
struct Options {
    var server = IPv4Address.unspecified
    var port: UInt16 = 1723
    var user = ""
    var passwordFile = ""
    var sessions = 0
    var sources: [IPv4Address] = []
    /// Calls placed on each control connection (RFC 2637 §3.2: a control connection carries any number of calls).
    /// 1, as Windows and pptp-linux do, unless the open-file limit forbids one TCP connection per session.
    var callsPerConnection = 1
    /// Handshakes in flight at most (TCP connect to IPCP up), so that the server is not flooded.
    var concurrency = 500
    /// Our own LCP Echo-Request interval (nil: we send none and only answer the server's, as Windows does).
    var lcpEchoInterval: TimeAmount?
    /// Give up on the set-up after this long.
    var setupTimeout: TimeAmount = .seconds(900)
    /// How often a progress line goes to stderr.
    var progressInterval: TimeAmount = .seconds(2)

    /// Control connections needed.
    var connections: Int { (sessions + callsPerConnection - 1) / callsPerConnection }

    static let usage = """
        usage: SessionLoadGenerator --server ADDRESS --user U --password-file F --sessions N
                                    --source ADDRESS [--source ADDRESS ...] [--port 1723] [--concurrency 500]
                                    [--calls-per-connection 1] [--lcp-echo SECONDS] [--setup-timeout SECONDS]

        Brings up N PPTP sessions (TCP, SCCRQ, OCRQ, LCP, MS-CHAPv2, CCP with MPPE-128 stateless, IPCP) to one server
        from one process: a single thread, an epoll loop over non-blocking TCP sockets bound to the source addresses
        (round-robin) and one raw GRE socket per source address, driving our ControlConnection and TunnelSession
        engines (a SessionTable per source address). At most --concurrency handshakes are in flight. Each control
        connection carries --calls-per-connection calls (RFC 2637 allows many; clients place one, which is the
        default): more than one when the open-file limit (RLIMIT_NOFILE) cannot cover one TCP connection per session. Prints
        "up N SECONDS" on stdout once all N are up, or "failed K REASON" when K could not be brought up, then holds
        the sessions (answering LCP and PPTP echoes) until SIGTERM or SIGINT, when it closes every socket.
        Progress goes to stderr. Needs root (raw sockets) and the source addresses configured on an interface.
        Each source address carries up to 65 535 Call IDs and about 28 000 TCP connections to one server port.
        """

    /// The options, or why not (an empty message: --help).
    enum Parsed {
        case success(Options)
        case failure(String)
    }

    static func parse(_ arguments: [String]) -> Parsed {
        var options = Options()
        var index = 0
        func value(_ name: String) -> String? {
            guard index + 1 < arguments.count else { return nil }
            index += 1
            return arguments[index]
        }
        while index < arguments.count {
            let name = arguments[index]
            switch name {
            case "-h", "--help":
                return .failure("")
            case "--server":
                guard let text = value(name), let address = IPv4Address(text) else {
                    return .failure("--server needs an IPv4 address")
                }
                options.server = address
            case "--port":
                guard let text = value(name), let port = UInt16(text) else { return .failure("--port needs a number") }
                options.port = port
            case "--user":
                guard let text = value(name), !text.isEmpty else { return .failure("--user needs a name") }
                options.user = text
            case "--password-file":
                guard let text = value(name) else { return .failure("--password-file needs a path") }
                options.passwordFile = text
            case "--sessions":
                guard let text = value(name), let count = Int(text), count > 0 else {
                    return .failure("--sessions needs a positive number")
                }
                options.sessions = count
            case "--source":
                guard let text = value(name), let address = IPv4Address(text) else {
                    return .failure("--source needs an IPv4 address")
                }
                options.sources.append(address)
            case "--concurrency":
                guard let text = value(name), let count = Int(text), count > 0 else {
                    return .failure("--concurrency needs a positive number")
                }
                options.concurrency = count
            case "--calls-per-connection":
                guard let text = value(name), let count = Int(text), count > 0 else {
                    return .failure("--calls-per-connection needs a positive number")
                }
                options.callsPerConnection = count
            case "--lcp-echo":
                guard let text = value(name), let seconds = Int64(text), seconds >= 0 else {
                    return .failure("--lcp-echo needs seconds")
                }
                options.lcpEchoInterval = seconds == 0 ? nil : .seconds(seconds)
            case "--setup-timeout":
                guard let text = value(name), let seconds = Int64(text), seconds > 0 else {
                    return .failure("--setup-timeout needs seconds")
                }
                options.setupTimeout = .seconds(seconds)
            default:
                return .failure("unknown option \(name)")
            }
            index += 1
        }
        if options.server == .unspecified { return .failure("--server is required") }
        if options.user.isEmpty { return .failure("--user is required") }
        if options.passwordFile.isEmpty { return .failure("--password-file is required") }
        if options.sessions == 0 { return .failure("--sessions is required") }
        if options.sources.isEmpty { return .failure("at least one --source is required") }
        if Set(options.sources).count != options.sources.count { return .failure("a --source is given twice") }
        // RFC 2637 Call IDs are 16 bits and 0 is not used; we give each source its own range of IDs.
        let connections = options.connections
        let perSource = (connections + options.sources.count - 1) / options.sources.count
        if perSource * options.callsPerConnection > 65_535 {
            return .failure(
                "\(perSource * options.callsPerConnection) calls per source address: more than 65 535 Call IDs; add --source addresses"
            )
        }
        if perSource > 28_000 {
            return .failure(
                "\(perSource) TCP connections per source address: more than the ephemeral port range; add --source addresses"
            )
        }
        return .success(options)
    }
}

/// Reads the password: the first line of the file, without its line end.
func readPassword(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    while true {
        let c = fgetc(file)
        if c == EOF || c == 10 || c == 13 { break }
        bytes.append(UInt8(truncatingIfNeeded: c))
    }
    return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
}

import ArgumentParser
import Foundation
import Logging
import MSCrypto
import NIOCore
import PPP
import PPTPClient
import PPTPNetwork

/// `pptp connect SERVER`: a PPTP client.
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Connect to a PPTP server and route traffic through the tunnel.",
        discussion: """
            The password comes from a prompt, from --password-file, or from the environment variable \
            PPTP_PASSWORD — never from the command line, where other users could read it. By default \
            MS-CHAPv2 and MPPE-128 are required; weaker methods need --allow and --mppe. The client creates a \
            TUN device, its address and the routes asked for (--route default keeps a host route to the server), \
            sets DNS only with --dns (restored on exit), and removes everything it installed when it ends.

            EXIT CODES
              0  disconnected by SIGINT/SIGTERM
              1  local error (cannot create the TUN device …)
              2  bad command line or password file
              3  the server name does not resolve
              4  TCP port 1723 refused or unreachable
              5  the PPTP control connection failed
              6  the server refused or ended the call
              7  control connection up but no GRE from the server (GRE blocked)
              8  authentication failed (the MS-CHAP error code is printed)
              9  encryption not agreed
              10 other PPP negotiation failure
              11 the tunnel dropped (echo time-out, server hung up) and --reconnect is off
              77 not root
            """
    )

    @Argument(help: "The server, by name or IPv4 address.")
    var server: String

    @Option(name: .long, help: "The user name.")
    var user: String

    @Option(name: .customLong("password-file"), help: "Read the password from the first line of this file.")
    var passwordFile: String?

    @Option(
        name: .customLong("new-password-file"),
        help: "A new password to set if the server says the password expired (E=648)."
    )
    var newPasswordFile: String?

    @Option(
        name: .long,
        parsing: .singleValue,
        help: "Route through the tunnel: 'default' or a CIDR prefix (repeatable)."
    )
    var route: [String] = []

    @Flag(name: .long, help: "Use the DNS servers the server gives (restored on exit).")
    var dns = false

    @Flag(name: .long, help: "Reconnect with back-off when the tunnel drops.")
    var reconnect = false

    @Option(
        name: .long,
        help: "Authentication methods to accept: mschapv2,mschapv1,chap-md5,pap (weak ones only when named)."
    )
    var allow: String = "mschapv2"

    @Option(name: .long, help: "MPPE key lengths to accept: 128,56,40, or 'none' for no encryption.")
    var mppe: String = "128"

    @Flag(name: .long, help: "Ask for stateful MPPE (pppd accepts it with mppe-stateful).")
    var stateful = false

    @Option(name: .long, help: "MTU of the tunnel device.")
    var mtu: Int = 1400

    @Option(name: .long, help: "Name of the TUN device (a pattern with %d).")
    var device: String = "pptp%d"

    @Option(name: .long, help: "TCP port of the server.")
    var port: Int = 1723

    @Option(
        name: .customLong("gre-timeout"),
        help: "Seconds to wait for GRE from the server before diagnosing it blocked."
    )
    var greTimeout: Int = 15

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger(label: "pptp.connect")
        let password: String
        do {
            password = try readPassword()
        } catch {
            printError("\(error)")
            throw ExitCode(CommonExit.configuration)
        }
        var newPassword: String?
        if let newPasswordFile {
            newPassword = try? String(contentsOfFile: newPasswordFile, encoding: .utf8).split(separator: "\n").first
                .map(String.init)
        }
        var configuration = ClientConfiguration(
            server: server,
            credentials: ClientCredentials(userName: user, password: password, newPassword: newPassword)
        )
        configuration.port = port
        configuration.mtu = mtu
        configuration.tunName = device
        configuration.useServerDNS = dns
        configuration.reconnect = reconnect
        configuration.greTimeout = .seconds(Int64(greTimeout))
        for text in route {
            guard let parsed = RouteRequest(text) else {
                printError("--route \(text): expected 'default' or a prefix like 198.51.100.0/24")
                throw ExitCode(CommonExit.configuration)
            }
            configuration.routes.append(parsed)
        }
        do {
            configuration.policy = try Self.policy(allow: allow, mppe: mppe, stateful: stateful)
        } catch {
            printError("\(error)")
            throw ExitCode(CommonExit.configuration)
        }
        for warning in configuration.policy.weaknesses { logger.warning("weak setting allowed: \(warning)") }
        guard isRoot() else {
            printError("pptp connect needs root (TUN device, routes, raw GRE socket)")
            throw ExitCode(CommonExit.notRoot)
        }
        let port = configuration.port
        let client = PPTPClientRuntime(configuration: configuration, logger: logger) { status in
            switch status {
            case .connecting(let address): logger.info("connecting to \(address):\(port)")
            case .controlConnected: logger.info("call connected, negotiating PPP")
            case .networkUp: break
            case .ppp(let event):
                switch event {
                case .authenticated(_, let method): logger.info("authenticated with \(method)")
                case .encryptionUp(let send, _): logger.info("encryption: \(send)")
                case .protocolRejected(let rejected):
                    logger.warning("the server rejected \(rejected) (LCP Protocol-Reject, RFC 1661 §5.7)")
                default: break
                }
            case .retrying: break
            }
        }
        let watcher = try SignalWatcher.start { _ in client.stop() }
        let outcome = await client.run()
        watcher.stop()
        if outcome == .stopped {
            logger.info("disconnected")
        } else {
            printError("pptp connect: \(outcome)")
        }
        throw ExitCode(outcome.exitCode)
    }

    private func readPassword() throws -> String {
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8),
                let line = text.split(separator: "\n", omittingEmptySubsequences: false).first
            else {
                throw ValidationError("\(passwordFile): cannot read the password file")
            }
            return String(line)
        }
        if let environment = ProcessInfo.processInfo.environment["PPTP_PASSWORD"] { return environment }
        guard isatty(STDIN_FILENO) != 0, let entered = getpass("Password for \(user): ") else {
            throw ValidationError("no password: use --password-file, PPTP_PASSWORD, or run on a terminal")
        }
        return String(cString: entered)
    }

    static func policy(allow: String, mppe: String, stateful: Bool) throws -> PPPPolicy {
        var methods: [AuthenticationMethod] = []
        for name in allow.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            switch name {
            case "mschapv2", "ms-chapv2", "mschap-v2": methods.append(.msCHAPv2)
            case "mschapv1", "mschap", "ms-chap": methods.append(.msCHAPv1)
            case "chap", "chap-md5", "md5": methods.append(.chapMD5)
            case "pap": methods.append(.pap)
            default: throw ValidationError("--allow: unknown method '\(name)' (mschapv2, mschapv1, chap-md5, pap)")
            }
        }
        let order: [AuthenticationMethod] = [.msCHAPv2, .msCHAPv1, .chapMD5, .pap]
        var encryption = EncryptionPolicy(strengths: [], allowStateful: stateful, preferStateful: stateful)
        if mppe.lowercased() == "none" {
            encryption = .none
        } else {
            for bits in mppe.split(separator: ",") {
                switch bits.trimmingCharacters(in: .whitespaces) {
                case "128": encryption.strengths.insert(.bits128)
                case "56": encryption.strengths.insert(.bits56)
                case "40": encryption.strengths.insert(.bits40)
                default: throw ValidationError("--mppe: '\(bits)' is not 40, 56, 128 or none")
                }
            }
        }
        let policy = PPPPolicy(authentication: order.filter(methods.contains), encryption: encryption)
        if encryption.required && !policy.authentication.contains(where: \.providesMPPEKeys) {
            throw ValidationError("MPPE needs MS-CHAP: add mschapv2 to --allow, or use --mppe none")
        }
        return policy
    }
}

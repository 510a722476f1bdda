import ArgumentParser
import Foundation
import Logging
import PPP
import PPTPNetwork
import PPTPServer

/// `pptp serve`: a PPTP server for many sessions in one process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a PPTP server (MS-CHAPv2 + MPPE-128 required by default).",
        discussion: """
            Reads a TOML configuration (see README.md) and a chap-secrets file (client server secret [address]), \
            creates one TUN device for every session with routes for the client pool, and answers on TCP 1723. \
            Weaker methods (PAP, CHAP-MD5, MS-CHAPv1, 40/56-bit or no MPPE) only run when the configuration \
            names them, with a warning at start-up. SIGINT/SIGTERM end every session politely and remove the \
            TUN device. `pptp status` shows the live sessions.

            EXIT CODES
              0  stopped by a signal
              1  could not start (port in use, no TUN device …)
              2  configuration or secrets file error (the message names file, line and key)
              77 not root
            """
    )

    @Option(name: .long, help: "The configuration file (TOML).")
    var config: String?

    @Option(name: .long, help: "Listen on this address (overrides the configuration).")
    var listen: String?

    @Option(name: .long, help: "TCP port (overrides the configuration; 1723 by default).")
    var port: Int?

    @Option(name: .long, help: "The chap-secrets file (overrides the configuration).")
    var secrets: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger(label: "pptp.serve")
        var configuration = ServerConfiguration()
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                printError("\(config): cannot read the configuration file")
                throw ExitCode(CommonExit.configuration)
            }
            do {
                configuration = try ConfigurationLoader(path: config, text: text).load()
            } catch {
                printError("configuration error: \(error)")
                throw ExitCode(CommonExit.configuration)
            }
        }
        if let listen { configuration.listenAddress = listen }
        if let port { configuration.port = port }
        if let secrets { configuration.secretsPath = secrets }
        var users = ChapSecrets(entries: [])
        if let path = configuration.secretsPath {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                printError("\(path): cannot read the secrets file")
                throw ExitCode(CommonExit.configuration)
            }
            do {
                users = try ChapSecrets(parsing: text, path: path)
            } catch {
                printError("secrets error: \(error)")
                throw ExitCode(CommonExit.configuration)
            }
        } else {
            logger.warning("no secrets file configured: nobody can log in")
        }
        guard isRoot() else {
            printError("pptp serve needs root (TUN device, routes, raw GRE socket)")
            throw ExitCode(CommonExit.notRoot)
        }
        // One TCP connection per control connection: the default soft limit (1024, or 20 000 here) would cap the
        // sessions long before `max_sessions`.
        let files = raiseOpenFileLimit()
        if files < configuration.limits.maximumSessions + 64 {
            logger.warning(
                "the open-file limit is \(files): fewer sessions than max_sessions (\(configuration.limits.maximumSessions)) can run"
            )
        }
        // Keep descriptors for real work: every session holds one, and the TUN, sockets, logs and the
        // status socket need a few hundred more; connections that have not authenticated get the rest.
        let room = max(16, files - configuration.limits.maximumSessions - ServerLimits.descriptorReserve)
        if configuration.limits.maximumUnauthenticatedConnections > room {
            logger.warning(
                "max_unauthenticated_connections lowered from \(configuration.limits.maximumUnauthenticatedConnections) to \(room): the open-file limit is \(files)"
            )
            configuration.limits.maximumUnauthenticatedConnections = room
        }
        let server = PPTPServerRuntime(configuration: configuration, secrets: users, logger: logger)
        let signals = try SignalWatcher.signals()
        do {
            try await server.start()
        } catch {
            printError("cannot start the server: \(error)")
            throw ExitCode(1)
        }
        for await signal in signals {
            logger.info("signal \(signal): shutting down")
            break
        }
        await server.shutdown()
    }
}

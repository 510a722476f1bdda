import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PPP
import PPTP
import PPTPNetwork

extension DataPlane: ClientDataPlane {}

/// `pptp connect`: a PPTP client (PNS, voluntary tunnelling). Connects, brings the tunnel up,
/// installs address, routes and DNS, keeps it alive, reconnects with back-off when asked, and
/// removes everything it installed when it ends.
public final class PPTPClientRuntime: Sendable {
    public let configuration: ClientConfiguration
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let state = NIOLockedValueBox(State())
    private let statusHandler: (@Sendable (ClientStatus) -> Void)?

    private struct State: @unchecked Sendable {
        // `handler` is only touched on its event loop through NIOLoopBound; the box guards the
        // reference itself.
        var stopped = false
        var handler: NIOLoopBound<ClientControlHandler>?
    }

    /// Progress reports for the CLI (and `pptp demo`).
    public enum ClientStatus: Sendable {
        case connecting(IPv4Address)
        case controlConnected
        case networkUp(IPv4NetworkSettings, tun: String, mtu: Int)
        case ppp(PPPSessionEvent)
        case retrying(after: TimeAmount, because: ClientOutcome)
    }

    public init(configuration: ClientConfiguration, logger: Logger, status: (@Sendable (ClientStatus) -> Void)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.statusHandler = status
    }

    /// Asks a running client to end: LCP Terminate, Call-Clear-Request, Stop-Control-Connection,
    /// then teardown. Safe from any thread (a signal handler task).
    public func stop() {
        let handler = state.withLockedValue { state -> NIOLoopBound<ClientControlHandler>? in
            state.stopped = true
            return state.handler
        }
        handler?.eventLoop.execute { handler?.value.stop() }
    }

    private var isStopped: Bool { state.withLockedValue { $0.stopped } }

    /// Connects and runs until stopped or the tunnel fails for good.
    public func run() async -> ClientOutcome {
        let outcome = await runAttempts()
        try? await group.shutdownGracefully()
        return outcome
    }

    private func runAttempts() async -> ClientOutcome {
        var delay = configuration.reconnectInitialDelay
        while true {
            let started = NIODeadline.now()
            let outcome = await attempt()
            if isStopped || !configuration.reconnect || !outcome.isRetryable || outcome == .stopped {
                return outcome
            }
            // A session that stayed up a while resets the back-off.
            if NIODeadline.now() - started > .seconds(60) { delay = configuration.reconnectInitialDelay }
            logger.warning("\(outcome); reconnecting in \(delay.nanoseconds / 1_000_000_000) s")
            statusHandler?(.retrying(after: delay, because: outcome))
            let wake = NIODeadline.now() + delay
            while NIODeadline.now() < wake && !isStopped { try? await Task.sleep(nanoseconds: 100_000_000) }
            if isStopped { return .stopped }
            delay = min(delay * 2, configuration.reconnectMaximumDelay)
        }
    }

    /// One connection attempt, from name resolution to teardown.
    private func attempt() async -> ClientOutcome {
        // 1. The server's address.
        let address: IPv4Address
        if let literal = IPv4Address(configuration.server) {
            address = literal
        } else {
            guard
                let resolved = try? SocketAddress.makeAddressResolvingHost(
                    configuration.server,
                    port: configuration.port
                ),
                case .v4(let v4) = resolved, let ip = IPv4Address(v4.host)
            else { return .nameResolutionFailed(configuration.server) }
            address = ip
        }
        statusHandler?(.connecting(address))

        // 2. TUN, raw GRE socket, data plane (before TCP, so a failure here costs nothing remote).
        let tun: TunDevice
        let socket: RawGRESocket
        do {
            tun = try TunDevice(name: configuration.tunName)
            socket = try RawGRESocket(remote: nil)
        } catch {
            return .localError("cannot create the tunnel device or GRE socket: \(error) (are we root?)")
        }
        let changes: NetworkChanges
        do {
            let netlink = try Netlink()
            // What a run killed before it could undo its changes left here (the host route to its
            // server, a rewritten resolv.conf) goes first, said in the log.
            for line in RunState.recoverDeadRuns(in: configuration.stateDirectory, netlink: netlink) {
                logger.warning("\(line)")
            }
            let state: RunState?
            do {
                state = try RunState(directory: configuration.stateDirectory)
            } catch {
                logger.warning("cannot keep a state file in \(configuration.stateDirectory): \(error)")
                state = nil
            }
            changes = NetworkChanges(netlink: netlink, state: state)
        } catch {
            tun.close()
            socket.close()
            return .localError("cannot open rtnetlink: \(error)")
        }
        let box = NIOLockedValueBox<NIOLoopBound<ClientControlHandler>?>(nil)
        let dataPlane: DataPlane
        do {
            dataPlane = try DataPlane(mode: .client, tun: tun, socket: socket) { _, event in
                guard let handler = box.withLockedValue({ $0 }) else { return }
                handler.eventLoop.execute { handler.value.dataPlaneEvent(event) }
            }
            try dataPlane.start(name: "pptp-client-data")
        } catch {
            tun.close()
            socket.close()
            return .localError("cannot start the data plane: \(error)")
        }
        defer {
            let errors = changes.undo()
            for error in errors { logger.warning("teardown: \(error)") }
            dataPlane.stop()
            socket.close()
            tun.close()
        }

        // 3. TCP and the control connection.
        let outcome = NIOLockedValueBox<ClientOutcome?>(nil)
        let finished = group.next().makePromise(of: ClientOutcome.self)
        let logger = self.logger
        let configuration = self.configuration
        let status = self.statusHandler
        let onEvent: @Sendable (ClientEvent) -> Void = { [weak self] event in
            switch event {
            case .callConnected:
                status?(.controlConnected)
            case .networkUp(let settings, let mtu):
                do {
                    try Self.configureNetwork(
                        settings,
                        tun: tun,
                        changes: changes,
                        server: address,
                        configuration: configuration,
                        mtu: mtu
                    )
                    status?(.networkUp(settings, tun: tun.name, mtu: mtu))
                    logger.info(
                        "tunnel up: \(tun.name) \(settings.localAddress) peer \(settings.peerAddress)\(settings.dnsServers.isEmpty ? "" : ", DNS \(settings.dnsServers.map(\.description).joined(separator: " "))")"
                    )
                } catch {
                    logger.error("cannot configure \(tun.name): \(error)")
                    outcome.withLockedValue { $0 = .localError("cannot configure \(tun.name): \(error)") }
                    self?.stop()
                }
            case .pppEvent(let event):
                status?(.ppp(event))
            case .finished(let result):
                finished.succeed(outcome.withLockedValue { $0 } ?? result)
            }
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ClientControlHandler(
                        configuration: configuration,
                        serverAddress: address,
                        dataPlane: dataPlane,
                        logger: logger,
                        onEvent: onEvent
                    )
                    let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                    box.withLockedValue { $0 = bound }
                    self.state.withLockedValue { $0.handler = bound }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        do {
            _ = try await bootstrap.connect(host: address.description, port: configuration.port).get()
        } catch {
            let text = "\(error)"
            if text.contains("refused") || text.contains("ECONNREFUSED") { return .tcpRefused(text) }
            return .tcpUnreachable(text)
        }
        if isStopped { stop() }
        let result = (try? await finished.futureResult.get()) ?? .localError("client stopped unexpectedly")
        state.withLockedValue { $0.handler = nil }
        return result
    }

    /// Address, MTU, routes and DNS once IPCP is up.
    static func configureNetwork(
        _ settings: IPv4NetworkSettings,
        tun: TunDevice,
        changes: NetworkChanges,
        server: IPv4Address,
        configuration: ClientConfiguration,
        mtu: Int
    ) throws {
        try tun.setMTU(mtu)
        // Without IPV6CP the kernel would send router solicitations into the tunnel.
        if !configuration.ipv6 { try? tun.disableIPv6() }
        changes.record(.address(try tun.addAddress(local: settings.localAddress, peer: settings.peerAddress)))
        try tun.setUp()
        var prefixes: [IPv4Prefix] = []
        var allTraffic = false
        for route in configuration.routes {
            switch route {
            case .defaultRoute: allTraffic = true
            case .prefix(let address, let length): prefixes.append(try IPv4Prefix(address, length: length))
            }
        }
        if allTraffic {
            // Keep the tunnel's own packets to the server off the tunnel.
            try changes.addServerRoute(server)
            try changes.routeAllTraffic(interfaceIndex: tun.index, source: settings.localAddress)
        }
        if !prefixes.isEmpty {
            try changes.addRoutes(prefixes, interfaceIndex: tun.index, source: settings.localAddress)
        }
        if configuration.useServerDNS && !settings.dnsServers.isEmpty {
            try changes.configureDNS(servers: settings.dnsServers, interfaceName: tun.name)
        }
    }
}

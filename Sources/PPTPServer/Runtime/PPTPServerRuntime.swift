import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PPP
import PPTP
import PPTPNetwork

extension DataPlane: DataPlaneControl {}

/// `pptp serve`: a PPTP server (PAC) for many sessions in one process. Control connections run
/// on a SwiftNIO event loop; every session's data runs on one data-plane thread over one TUN
/// device (routes for the client pool point into it) and one raw GRE socket.
public final class PPTPServerRuntime: Sendable {
    public let configuration: ServerConfiguration
    let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let resources = NIOLockedValueBox<Resources?>(nil)
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    private struct Resources: @unchecked Sendable {
        // Channel and DataPlane are thread-safe; the box only groups them for shutdown.
        var listener: any Channel
        var status: (any Channel)?
        var dataPlane: DataPlane
        var tun: TunDevice
        var socket: RawGRESocket
    }

    public convenience init(configuration: ServerConfiguration, secrets: ChapSecrets, logger: Logger) {
        self.init(configuration: configuration, backend: ChapSecretsBackend(secrets), logger: logger)
    }

    public init(configuration: ServerConfiguration, backend: any AuthenticationBackend, logger: Logger) {
        self.configuration = configuration
        self.context = ServerContext(configuration: configuration, backend: backend, logger: logger)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// The address the control listener is bound to (after `start`).
    public var localAddress: SocketAddress? { resources.withLockedValue { $0?.listener.localAddress } }

    /// The TUN device's name (after `start`).
    public var tunName: String? { resources.withLockedValue { $0?.tun.name } }

    /// Creates the TUN device and routes, starts the data plane and listens on TCP 1723.
    public func start() async throws {
        let logger = context.logger
        for warning in configuration.warnings { logger.warning("weak setting allowed by configuration: \(warning)") }

        let tun = try TunDevice(name: configuration.tunName)
        let socket: RawGRESocket
        let dataPlane: DataPlane
        do {
            try tun.setMTU(configuration.mtu)
            if !configuration.ipv6 { try? tun.disableIPv6() }
            _ = try tun.addAddress(local: configuration.localAddress, prefixLength: 32)
            try tun.setUp()
            // One route per covering prefix of the pool, so packets to any client enter the TUN.
            for (address, length) in AddressPool(ranges: configuration.pool).coveringPrefixes {
                try tun.addRoute(try IPv4Prefix(address, length: length), source: configuration.localAddress)
            }
            let bind = IPv4Address(configuration.listenAddress).flatMap { $0 == .unspecified ? nil : $0 }
            // Every session's GRE arrives on this one socket: the default receive buffer (about 200 KB)
            // overflowed while 500 sessions were being set up at once (LCP restarts 3 s later).
            socket = try RawGRESocket(local: bind, bufferSize: 8 << 20)
            let router = context.router
            dataPlane = try DataPlane(mode: .server, tun: tun, socket: socket) { key, event in
                router.deliver(event, for: key)
            }
            try dataPlane.start(name: "pptp-server-data")
        } catch {
            tun.close()
            throw error
        }
        context.attach(dataPlane)

        let server = context
        let channels = self.channels
        // One timer heap per event loop for all its control connections (see ControlTimers).
        var timersByLoop: [ObjectIdentifier: ControlTimers] = [:]
        for loop in group.makeIterator() { timersByLoop[ObjectIdentifier(loop)] = ControlTimers(eventLoop: loop) }
        let timers = timersByLoop
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A peer that sends requests and never reads the replies (an Echo-Request flood grew the
            // server by 1.1 GB in 10 s) stops being read once this much waits: BackPressureHandler.
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: ControlConnectionHandler.writeLowWater, high: ControlConnectionHandler.writeHighWater)
            )
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                channels.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in channels.withLockedValue { $0[id] = nil } }
                return channel.eventLoop.makeCompletedFuture {
                    let loopTimers =
                        timers[ObjectIdentifier(channel.eventLoop)] ?? ControlTimers(eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandlers(
                        BackPressureHandler(),
                        ControlConnectionHandler(server: server, timers: loopTimers)
                    )
                }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: configuration.listenAddress, port: configuration.port).get()
        } catch {
            dataPlane.stop()
            socket.close()
            tun.close()
            throw error
        }
        let status = try? await StatusService.start(path: configuration.statusSocketPath, group: group, runtime: self)
        resources.withLockedValue {
            $0 = Resources(listener: listener, status: status, dataPlane: dataPlane, tun: tun, socket: socket)
        }
        logger.info(
            "listening on \(configuration.listenAddress):\(configuration.port); tunnel \(tun.name) \(configuration.localAddress), pool \(configuration.pool.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ",")); policy: \(configuration.policy)"
        )
    }

    /// Ends every session politely (LCP Terminate, Call-Disconnect-Notify, Stop-Control-
    /// Connection), then removes the TUN device and its routes.
    public func shutdown(grace: TimeAmount = .seconds(2)) async {
        guard let resources = self.resources.withLockedValue({ $0 }) else { return }
        try? await resources.listener.close()
        for key in context.state.sessionKeys {
            resources.dataPlane.submit(.close(key, reason: .serverShutdown))
        }
        // Let the Terminate-Requests and Call-Disconnect-Notifies go out.
        let deadline = NIODeadline.now() + grace
        while context.state.sessionCount > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        for channel in channels.withLockedValue({ Array($0.values) }) { try? await channel.close() }
        try? await resources.status?.close()
        resources.dataPlane.stop()
        resources.socket.close()
        resources.tun.close()
        self.resources.withLockedValue { $0 = nil }
        try? await group.shutdownGracefully()
        context.logger.info("server stopped")
    }

    /// Adds a reader of the session events (accounting, metrics); call before `start`.
    public func observeSessions(_ observer: any SessionObserver) {
        context.events.add(observer)
    }

    /// The live sessions with their counters, for `pptp status`.
    public func status() async -> ServerStatus {
        // No lock is held while the data-plane thread takes the snapshot.
        let dataPlane = resources.withLockedValue { $0?.dataPlane }
        let snapshot = await dataPlane?.snapshot() ?? DataPlaneSnapshot()
        let statistics = Dictionary(snapshot.sessions.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let now = context.secondsSinceStart()
        let sessions = context.state.sessionEntries.sorted { $0.record.startedAt < $1.record.startedAt }.map {
            key,
            record -> ServerStatus.Session in
            let stats = statistics[key]
            return ServerStatus.Session(
                user: record.user,
                peer: record.peer,
                callID: record.callID,
                address: record.address,
                encryption: record.encryption,
                method: record.method,
                uptime: (now - record.startedAt).rounded(),
                networkUp: record.networkUp,
                bytesIn: stats?.bytesIn ?? 0,
                bytesOut: stats?.bytesOut ?? 0,
                packetsIn: stats?.packetsIn ?? 0,
                packetsOut: stats?.packetsOut ?? 0,
                lost: stats?.lost ?? 0,
                reordered: stats?.reordered ?? 0
            )
        }
        let counters = snapshot.counters
        return ServerStatus(
            listen: "\(configuration.listenAddress):\(configuration.port)",
            uptime: now.rounded(),
            sessions: sessions,
            addressesInUse: context.state.addressesInUse,
            poolSize: AddressPool(ranges: configuration.pool).capacity,
            counters: counters
        )
    }
}

/// What `pptp status` shows.
public struct ServerStatus: Codable, Sendable {
    public struct Session: Codable, Sendable {
        public var user: String?
        public var peer: String
        public var callID: UInt16
        public var address: String?
        public var encryption: String?
        public var method: String?
        public var uptime: Double
        public var networkUp: Bool
        public var bytesIn: Int
        public var bytesOut: Int
        public var packetsIn: Int
        public var packetsOut: Int
        public var lost: Int
        public var reordered: Int
    }

    public var listen: String
    public var uptime: Double
    public var sessions: [Session]
    public var addressesInUse: Int
    public var poolSize: Int
    public var counters: DataPlaneCounters
}

import Glibc
import PPP
import Synchronization
import SystemPackage

/// How DNS servers are installed for a tunnel.
public enum DNSBackend: Hashable, Sendable {
    /// systemd-resolved, per link: `resolvectl dns|domain LINK …`, undone by
    /// `resolvectl revert LINK`. Nothing global changes, and the settings vanish with the link.
    case resolved
    /// A resolv.conf file rewritten and restored byte for byte.
    case resolvConf(ResolvConf)

    /// systemd-resolved when its runtime directory exists and `resolvectl` is installed,
    /// otherwise the resolv.conf at `resolvConfPath`.
    public static func detect(
        resolvedDirectory: String = "/run/systemd/resolve",
        resolvConfPath: String = "/etc/resolv.conf"
    ) -> DNSBackend {
        var status = stat()
        if stat(resolvedDirectory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR,
            Command.locate("resolvectl") != nil
        {
            return .resolved
        }
        return .resolvConf(ResolvConf(path: resolvConfPath))
    }
}

/// The undo log of a client's network configuration: every address, route and DNS setting
/// installed through it is recorded as soon as the kernel (or the file system) has taken it,
/// and `undo()` removes them all in reverse order. A failure half-way leaves a log of exactly
/// what was done, so teardown is complete after a partial failure too; call `undo()` on every
/// exit path, including from a `SignalWatcher` handler on SIGINT/SIGTERM.
///
/// `--route default` is done with two routes, 0.0.0.0/1 and 128.0.0.0/1, through the tunnel
/// (as OpenVPN's def1): more specific than any default route, they take all traffic while the
/// original default route stays untouched, so nothing needs restoring if we die, and the host
/// route to the server (`addServerRoute`) keeps the tunnel's own packets on the original path.
///
/// Routes carry `Route.pptpProtocol` so that leftovers of a killed run are recognisable
/// (`ip route show proto 157`).
public final class NetworkChanges: Sendable {
    /// One recorded change.
    public enum Change: Hashable, Sendable {
        case address(InterfaceAddress)
        case route(Route)
        case resolvConf(ResolvConf, ResolvConf.Saved)
        /// Per-link DNS in systemd-resolved on the named interface.
        case resolvedLink(String)
    }

    /// The rtnetlink socket used (it determines the namespace acted on).
    public let netlink: Netlink
    private let log = Mutex<[Change]>([])
    /// Where the log is kept on disk, for a run that dies without undoing (see `RunState`).
    public let state: RunState?

    public init(netlink: Netlink, state: RunState? = nil) {
        self.netlink = netlink
        self.state = state
    }

    /// Records `change` (under the lock) and keeps the state file in step.
    private func append(_ change: Change, to log: inout [Change]) {
        log.append(change)
        state?.write(log)
    }

    /// What is installed now, oldest first.
    public var changes: [Change] { log.withLock { $0 } }

    /// Adds an address and records it.
    public func addAddress(_ address: InterfaceAddress) throws(NetworkError) {
        try log.withLock { log throws(NetworkError) in
            try netlink.addAddress(address)
            append(.address(address), to: &log)
        }
    }

    /// Adds a route and records it. Fails with EEXIST (nothing recorded) when the same route
    /// exists.
    public func addRoute(_ route: Route) throws(NetworkError) {
        try log.withLock { log throws(NetworkError) in
            try netlink.addRoute(route)
            append(.route(route), to: &log)
        }
    }

    /// Keeps the tunnel's own traffic to `server` off the tunnel: looks up the current route
    /// to it (RTM_GETROUTE) and adds `server/32` via the same gateway and interface. Call it
    /// before routing traffic into the tunnel. Returns the route added, or nil when none was
    /// needed: the server is a local address, or a /32 route to it exists already (not ours,
    /// so not recorded).
    @discardableResult
    public func addServerRoute(_ server: IPv4Address) throws(NetworkError) -> Route? {
        let current = try netlink.route(to: server)
        // Table 255 is `local`: the server is one of our own addresses.
        guard current.table != 255 else { return nil }
        let route = Route(
            destination: IPv4Prefix(host: server),
            gateway: current.gateway,
            interfaceIndex: current.interfaceIndex
        )
        do throws(NetworkError) {
            try addRoute(route)
        } catch {
            if case .netlink(_, .fileExists) = error { return nil }
            throw error
        }
        return route
    }

    /// Routes everything through the tunnel interface with 0.0.0.0/1 and 128.0.0.0/1 (see the
    /// type's documentation). `source` becomes the preferred source address.
    @discardableResult
    public func routeAllTraffic(interfaceIndex: UInt32, source: IPv4Address? = nil) throws(NetworkError) -> [Route] {
        try addRoutes(IPv4Prefix.defaultHalves, interfaceIndex: interfaceIndex, source: source)
    }

    /// Routes the given networks through the tunnel interface (split tunnelling).
    @discardableResult
    public func addRoutes(
        _ prefixes: [IPv4Prefix],
        interfaceIndex: UInt32,
        source: IPv4Address? = nil
    ) throws(NetworkError)
        -> [Route]
    {
        var added: [Route] = []
        for prefix in prefixes {
            let route = Route(destination: prefix, interfaceIndex: interfaceIndex, preferredSource: source)
            try addRoute(route)
            added.append(route)
        }
        return added
    }

    /// Installs DNS servers (and search domains) for the tunnel and records how to undo it.
    /// With systemd-resolved they apply to `interfaceName`; with `routeAllQueries` every query
    /// goes to them ("~." routing domain), otherwise only those for `searchDomains`.
    public func configureDNS(
        servers: [IPv4Address],
        searchDomains: [String] = [],
        interfaceName: String,
        routeAllQueries: Bool = true,
        backend: DNSBackend = .detect()
    ) throws(NetworkError) {
        guard !servers.isEmpty else { return }
        try log.withLock { log throws(NetworkError) in
            switch backend {
            case .resolved:
                // Recorded first: `revert` is harmless if `dns` did not apply.
                append(.resolvedLink(interfaceName), to: &log)
                try Command.check(["resolvectl", "dns", interfaceName] + servers.map(\.description))
                let domains = (routeAllQueries ? ["~."] : []) + searchDomains
                if !domains.isEmpty {
                    try Command.check(["resolvectl", "domain", interfaceName] + domains)
                }
            case .resolvConf(let file):
                // Recorded before the file changes: a run killed in between leaves a marker-less
                // file, which `recover` leaves alone.
                state?.write(log + [.resolvConf(file, ResolvConf.Saved(original: nil, symlinkTarget: nil))])
                let saved = try file.install(servers: servers, searchDomains: searchDomains)
                append(.resolvConf(file, saved), to: &log)
            }
        }
    }

    /// Records a change made elsewhere, so that `undo()` removes it.
    public func record(_ change: Change) {
        log.withLock { append(change, to: &$0) }
    }

    /// Removes everything recorded, newest first, and empties the log. Keeps going after an
    /// error and returns the errors. Something already gone (a route or address that vanished
    /// with its interface when the TUN closed) is not an error. Safe to call more than once
    /// and from any thread.
    @discardableResult
    public func undo() -> [NetworkError] {
        log.withLock { log in
            var errors: [NetworkError] = []
            while let change = log.popLast() {
                do throws(NetworkError) {
                    try revert(change)
                } catch {
                    errors.append(error)
                }
            }
            // What could not be undone stays in the state file, for the next run to try again.
            if errors.isEmpty { state?.remove() }
            return errors
        }
    }

    private func revert(_ change: Change) throws(NetworkError) {
        switch change {
        case .address(let address):
            do throws(NetworkError) {
                try netlink.deleteAddress(address)
            } catch {
                switch error {
                case .netlink(_, .addressNotAvailable), .netlink(_, .operationNotSupportedByDevice): return
                default: throw error
                }
            }
        case .route(let route):
            do throws(NetworkError) {
                try netlink.deleteRoute(route)
            } catch {
                switch error {
                // ESRCH: no such route; ENODEV: its interface is gone, and the route with it.
                case .netlink(_, .noSuchProcess), .netlink(_, .operationNotSupportedByDevice): return
                default: throw error
                }
            }
        case .resolvConf(let file, let saved):
            try file.restore(saved)
        case .resolvedLink(let name):
            // The settings go with the link; revert only a link that still exists.
            guard try netlink.link(named: name) != nil else { return }
            try Command.check(["resolvectl", "revert", name])
        }
    }
}

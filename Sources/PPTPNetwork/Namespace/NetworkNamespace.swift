import Glibc
import PPP
import Synchronization
import SystemPackage

/// A named network namespace (`ip netns`, ip-netns(8)) for tests, benchmarks and `pptp demo`:
/// created with a unique name, entered by dedicated threads (`run`, `NamedThread.start`) or by
/// spawned processes (`spawn`: `ip netns exec`), and deleted with everything in it.
///
/// Creation and deletion spawn `ip` (iproute2), which sets up /run/netns the way every other
/// tool expects. Every namespace made here is also recorded in a process-wide registry that an
/// exit handler empties, so that a test which fails before its `delete()` leaves nothing behind
/// once the process exits normally. (A process killed by SIGKILL cannot clean up: its
/// namespaces are the ones named `PREFIX-PID-N` for a PID that no longer exists, and
/// `NetworkNamespace.removeStale(prefix:)` deletes those.)
///
/// Needs CAP_SYS_ADMIN (root).
public final class NetworkNamespace: Sendable, Hashable, CustomStringConvertible {
    /// The name under /run/netns.
    public let name: String
    private let deleted = Atomic<Bool>(false)
    private let children = Mutex<[ChildProcess]>([])

    /// The bind mount that keeps the namespace, for setns(2).
    public var path: String { "/run/netns/\(name)" }
    public var description: String { name }

    private init(name: String) {
        self.name = name
    }

    /// A namespace that exists already and is not ours (the lab's "pptplab"): usable with
    /// `run`, `spawn` and `execute`; `delete()` is never called on it by us unless asked.
    public static func existing(_ name: String) -> NetworkNamespace? {
        var status = stat()
        guard stat("/run/netns/\(name)", &status) == 0 else { return nil }
        return NetworkNamespace(name: name)
    }

    /// Creates a namespace named `PREFIX-PID-N` (unique in this process, and across processes
    /// by the PID) with its loopback interface up.
    public static func create(prefix: String = "pptp") throws(NetworkError) -> NetworkNamespace {
        _ = exitHandlerInstalled
        let name = "\(prefix)-\(getpid())-\(namespaceCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
        try Command.check(["ip", "netns", "add", name])
        let namespace = NetworkNamespace(name: name)
        namespaceRegistry.withLock { $0[name] = namespace }
        do throws(NetworkError) {
            try namespace.ip(["link", "set", "lo", "up"])
        } catch {
            try? namespace.delete()
            throw error
        }
        return namespace
    }

    /// Creates a namespace, runs `body` with it and deletes it, also when `body` throws.
    public static func withTemporary<T>(
        prefix: String = "pptp",
        _ body: (NetworkNamespace) throws -> T
    ) throws -> T {
        let namespace = try create(prefix: prefix)
        defer { try? namespace.delete() }
        return try body(namespace)
    }

    /// Ends the processes spawned in the namespace and deletes it (`ip netns del`). Its
    /// interfaces go when nothing uses the namespace any more: close the sockets and TUN
    /// devices opened in it first, and end threads that entered it. Later calls do nothing.
    public func delete() throws(NetworkError) {
        guard !deleted.exchange(true, ordering: .relaxed) else { return }
        let processes = children.withLock { children in
            defer { children.removeAll() }
            return children
        }
        for process in processes { _ = try? process.terminate() }
        namespaceRegistry.withLock { _ = $0.removeValue(forKey: name) }
        try Command.check(["ip", "netns", "del", name])
    }

    /// Runs `body` on a new thread inside the namespace and returns its result (see
    /// `NamedThread.run`). Sockets, netlink sockets and TUN devices opened there belong to the
    /// namespace for good.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try NamedThread.run(name: "netns-\(name)", namespace: self, body)
    }

    /// Starts a process inside the namespace (`ip netns exec NAME …`). It is ended by
    /// `delete()` if still running.
    public func spawn(
        _ arguments: [String],
        output: Command.OutputDestination = .inherit
    ) throws(NetworkError)
        -> ChildProcess
    {
        let process = try Command.spawn(["ip", "netns", "exec", name] + arguments, output: output)
        children.withLock { $0.append(process) }
        return process
    }

    /// Runs a command inside the namespace to its end.
    public func execute(_ arguments: [String]) throws(NetworkError) -> Command.Output {
        try Command.run(["ip", "netns", "exec", name] + arguments)
    }

    /// Runs `ip -n NAME …` and throws if it fails.
    @discardableResult
    public func ip(_ arguments: [String]) throws(NetworkError) -> Command.Output {
        try Command.check(["ip", "-n", name] + arguments)
    }

    /// The names of all namespaces under /run/netns (`ip netns list`).
    public static func list() throws(NetworkError) -> [String] {
        let output = try Command.check(["ip", "netns", "list"])
        return output.text.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first.map(String.init)
        }
    }

    /// Deletes namespaces named `PREFIX-PID-N` whose PID is not a running process (left by a
    /// run that was killed). Returns their names.
    @discardableResult
    public static func removeStale(prefix: String = "pptp") throws(NetworkError) -> [String] {
        var removed: [String] = []
        for name in try list() where name.hasPrefix(prefix + "-") {
            let parts = name.dropFirst(prefix.count + 1).split(separator: "-")
            guard parts.count == 2, let pid = Int32(parts[0]), Int(parts[1]) != nil else { continue }
            if pid == getpid() || kill(pid, 0) == 0 || errno == EPERM { continue }
            try Command.check(["ip", "netns", "del", name])
            removed.append(name)
        }
        return removed
    }

    /// Deletes every namespace this process created and has not deleted yet (the exit handler
    /// calls it; tests may too).
    public static func deleteAll() {
        let all = namespaceRegistry.withLock { Array($0.values) }
        for namespace in all { try? namespace.delete() }
    }

    public static func == (lhs: NetworkNamespace, rhs: NetworkNamespace) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

private let namespaceCounter = Atomic<Int>(0)
private let namespaceRegistry = Mutex<[String: NetworkNamespace]>([:])
private let exitHandlerInstalled: Void = {
    atexit { NetworkNamespace.deleteAll() }
}()

/// A veth pair (veth(4)) joining two namespaces, each end with an IPv4 address and up. Both
/// ends are created directly inside their namespaces, so nothing appears in the namespace of
/// the caller.
public struct VethPair: Hashable, Sendable {
    /// One end of the pair.
    public struct End: Hashable, Sendable {
        public var namespace: NetworkNamespace
        /// The interface name inside its namespace.
        public var name: String
        public var address: IPv4Address
        public var prefixLength: Int
    }

    public let first: End
    public let second: End

    /// Creates the pair with `firstAddress` on the end in `firstNamespace` and `secondAddress`
    /// on the end in `secondNamespace`, both with `prefixLength`, optionally an MTU, and brings
    /// both up.
    public static func create(
        _ firstNamespace: NetworkNamespace,
        _ firstAddress: IPv4Address,
        _ secondNamespace: NetworkNamespace,
        _ secondAddress: IPv4Address,
        prefixLength: Int = 24,
        mtu: Int? = nil
    ) throws(NetworkError) -> VethPair {
        guard (0...32).contains(prefixLength) else { throw .prefixLength(prefixLength) }
        let number = vethCounter.wrappingAdd(1, ordering: .relaxed).newValue % 10_000
        let stem = "ve\(getpid() % 100_000)x\(number)"
        let first = End(namespace: firstNamespace, name: stem + "a", address: firstAddress, prefixLength: prefixLength)
        let second = End(
            namespace: secondNamespace,
            name: stem + "b",
            address: secondAddress,
            prefixLength: prefixLength
        )
        try Command.check([
            "ip", "link", "add", first.name, "netns", firstNamespace.name, "type", "veth",
            "peer", "name", second.name, "netns", secondNamespace.name,
        ])
        let pair = VethPair(first: first, second: second)
        do throws(NetworkError) {
            for end in [first, second] {
                if let mtu { try end.namespace.ip(["link", "set", end.name, "mtu", String(mtu)]) }
                try end.namespace.ip(["addr", "add", "\(end.address)/\(prefixLength)", "dev", end.name])
                try end.namespace.ip(["link", "set", end.name, "up"])
            }
        } catch {
            try? pair.delete()
            throw error
        }
        return pair
    }

    /// Deletes the pair (deleting one end deletes both). Deleting a namespace does it too.
    public func delete() throws(NetworkError) {
        try first.namespace.ip(["link", "del", first.name])
    }
}

private let vethCounter = Atomic<Int>(0)

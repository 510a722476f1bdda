import NIOConcurrencyHelpers
import NIOCore
import PPP
import PPTP
import PPTPNetwork

/// One live session, for logs and `pptp status`.
public struct SessionRecord: Sendable, Codable, Hashable {
    public var peer: String
    public var callID: UInt16
    public var peerCallID: UInt16
    public var user: String?
    public var method: String?
    public var address: String?
    public var encryption: String?
    /// Uptime base: when the call connected (seconds since the server started).
    public var startedAt: Double
    public var networkUp = false
}

/// The server's shared state: Call IDs, addresses, admission and the session registry. Touched
/// by every control connection (on any event loop), so it lives behind one lock; every
/// operation is short.
final class ServerState: Sendable {
    private struct State {
        /// Call IDs per peer address: GRE is demultiplexed by (peer address, Call ID), so IDs
        /// repeat across peers and one server holds more than 65 535 sessions (DESIGN.md).
        var callIDs: [IPv4Address: CallIDAllocator] = [:]
        var pool: AddressPool
        var admission: AdmissionControl
        var sessions: [SessionKey: SessionRecord] = [:]
        /// Addresses given to sessions (released when the session goes).
        var addresses: [SessionKey: IPv4Address] = [:]
    }

    private let state: NIOLockedValueBox<State>
    private let overcommit: Bool

    init(configuration: ServerConfiguration) {
        overcommit = configuration.overcommitPool
        state = NIOLockedValueBox(
            State(
                pool: AddressPool(ranges: configuration.pool),
                admission: AdmissionControl(limits: configuration.limits)
            )
        )
    }

    /// Admission of connections, calls and logins (see `AdmissionControl`), under the lock.
    func admission<T>(_ body: (inout AdmissionControl) -> T) -> T {
        state.withLockedValue { body(&$0.admission) }
    }

    func allocateCallID(peer: IPv4Address) -> UInt16? {
        state.withLockedValue { state in
            // Start each peer's IDs at a different place, so that they are not predictable.
            var allocator = state.callIDs[peer] ?? CallIDAllocator(start: UInt16.random(in: 1...UInt16.max))
            defer { state.callIDs[peer] = allocator }
            return allocator.allocate()
        }
    }

    func register(_ record: SessionRecord, key: SessionKey) {
        state.withLockedValue { $0.sessions[key] = record }
    }

    func update(_ key: SessionKey, _ body: @Sendable (inout SessionRecord) -> Void) {
        state.withLockedValue { state in
            if var record = state.sessions[key] {
                body(&record)
                state.sessions[key] = record
            }
        }
    }

    /// An address for a user: its fixed one (if free) or one from the pool.
    func assignAddress(
        for key: SessionKey,
        restriction: ChapSecretEntry.AddressRestriction
    ) -> Result<IPv4Address, AddressFailure> {
        state.withLockedValue { state in
            if let existing = state.addresses[key] { return .success(existing) }
            switch restriction {
            case .none:
                return .failure(.notAllowed)
            case .fixed(let candidates):
                for candidate in candidates
                where state.pool.reserve(candidate)
                    || !state.pool.contains(candidate) && !state.addresses.values.contains(candidate)
                {
                    state.addresses[key] = candidate
                    return .success(candidate)
                }
                return .failure(.fixedAddressInUse)
            case .any:
                if let address = state.pool.allocate() {
                    state.addresses[key] = address
                    return .success(address)
                }
                guard overcommit, let shared = state.pool.shared() else { return .failure(.poolExhausted) }
                return .success(shared)
            }
        }
    }

    enum AddressFailure: Error, CustomStringConvertible {
        case notAllowed, fixedAddressInUse, poolExhausted

        var description: String {
            switch self {
            case .notAllowed: return "the user may not use IP ('-' in the secrets file)"
            case .fixedAddressInUse: return "the user's fixed address is in use"
            case .poolExhausted: return "the address pool is exhausted"
            }
        }
    }

    /// Releases everything a session held.
    func release(_ key: SessionKey, peer: String, authenticated: Bool) -> SessionRecord? {
        state.withLockedValue { state in
            state.callIDs[key.peer]?.free(key.callID)
            if let address = state.addresses.removeValue(forKey: key) { state.pool.release(address) }
            state.admission.releaseCall(peer: peer, authenticated: authenticated)
            return state.sessions.removeValue(forKey: key)
        }
    }

    func freeCallID(_ id: UInt16, peer: IPv4Address) {
        state.withLockedValue { $0.callIDs[peer]?.free(id) }
    }

    var sessionKeys: [SessionKey] { state.withLockedValue { Array($0.sessions.keys) } }
    var sessionEntries: [(key: SessionKey, record: SessionRecord)] {
        state.withLockedValue { $0.sessions.map { ($0.key, $0.value) } }
    }
    var sessionCount: Int { state.withLockedValue { $0.sessions.count } }
    var addressesInUse: Int { state.withLockedValue { $0.pool.allocatedCount } }
    var callIDsInUse: Int { state.withLockedValue { $0.callIDs.values.reduce(0) { $0 + $1.count } } }
}

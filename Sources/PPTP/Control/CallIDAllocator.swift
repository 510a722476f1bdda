/// Allocates Call IDs (RFC 2637 §3.2.2): unique among live calls, and a just-freed ID is not
/// reused at once (so a late GRE packet or control message of the old call cannot reach the
/// new one). IDs are handed out cyclically from a random start; freed IDs wait in quarantine
/// until `quarantine` other IDs have been freed after them or the cycle comes round.
///
/// One allocator per process serves every control connection, so that GRE can be
/// demultiplexed by (peer address, Call ID) even when several connections come from one NAT
/// address ([MS-PTPT] §3.1.5.1.1 allows several connections between the same hosts).
public struct CallIDAllocator: Sendable {
    /// The most calls alive at once.
    public let maximumCalls: Int
    /// Freed IDs kept out of use for at least this many further frees.
    public let quarantine: Int
    private var inUse = Set<UInt16>()
    private var recentlyFreed: [UInt16] = []
    private var recentlyFreedSet = Set<UInt16>()
    private var cursor: UInt16

    public init(maximumCalls: Int = 65_535, quarantine: Int = 1024, start: UInt16 = 1) {
        self.maximumCalls = max(1, min(maximumCalls, 65_536))
        self.quarantine = max(0, quarantine)
        self.cursor = start
    }

    public var count: Int { inUse.count }

    public func isInUse(_ id: UInt16) -> Bool { inUse.contains(id) }

    /// A fresh Call ID, or nil when `maximumCalls` are alive (or the space is exhausted).
    public mutating func allocate() -> UInt16? {
        guard inUse.count < maximumCalls else { return nil }
        // Call ID 0 is legal ([MS-PTPT]: Windows XP sent it), but we never hand it out so that
        // it stands out in traces. At most one full cycle.
        for _ in 0..<65_536 {
            let candidate = cursor
            cursor &+= 1
            if candidate == 0 || inUse.contains(candidate) || recentlyFreedSet.contains(candidate) { continue }
            inUse.insert(candidate)
            return candidate
        }
        // Every free ID is in quarantine: take the oldest quarantined one.
        guard !recentlyFreed.isEmpty else { return nil }
        let oldest = recentlyFreed.removeFirst()
        recentlyFreedSet.remove(oldest)
        inUse.insert(oldest)
        return oldest
    }

    /// Returns an ID to the pool (after quarantine). Freeing an ID not in use does nothing.
    public mutating func free(_ id: UInt16) {
        guard inUse.remove(id) != nil else { return }
        guard quarantine > 0 else { return }
        recentlyFreed.append(id)
        recentlyFreedSet.insert(id)
        if recentlyFreed.count > quarantine {
            let released = recentlyFreed.removeFirst()
            recentlyFreedSet.remove(released)
        }
    }
}

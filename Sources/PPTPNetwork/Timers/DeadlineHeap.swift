import NIOCore

/// A binary min-heap of (deadline, payload) for many timers behind one wake-up: the data plane's
/// session timers, the server's control-connection timers, the session load generator's.
///
/// Deletion is lazy: the owner keeps the current deadline of each timer and skips popped entries
/// that no longer match it (a timer that was re-armed, or whose owner went), so re-arming is one
/// push and cancelling costs nothing. Entries are plain values: no references to retain while the
/// heap sifts (unlike a heap of scheduled-task objects).
public struct DeadlineHeap<Payload: Sendable>: Sendable {
    @usableFromInline
    var items: [(deadline: NIODeadline, payload: Payload)] = []

    public init() {}

    /// Entries in the heap, stale ones included.
    @inlinable
    public var count: Int { items.count }

    /// The earliest deadline (possibly of a stale entry).
    @inlinable
    public func peek() -> NIODeadline? { items.first?.deadline }

    @inlinable
    public mutating func push(_ deadline: NIODeadline, _ payload: Payload) {
        items.append((deadline, payload))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    @inlinable
    public mutating func popDue(now: NIODeadline) -> (deadline: NIODeadline, payload: Payload)? {
        guard let first = items.first, first.deadline <= now else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && items[left].deadline < items[smallest].deadline { smallest = left }
                if right < items.count && items[right].deadline < items[smallest].deadline { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}

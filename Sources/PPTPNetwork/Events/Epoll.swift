import CPPTPNetwork
import Glibc
import Synchronization
import SystemPackage

/// An epoll(7) instance for a dedicated data-plane thread (no event loop): register
/// descriptors with the events of interest and a 64-bit tag, then wait for readiness into a
/// preallocated `Epoll.EventBuffer`. Level-triggered unless `.edgeTriggered` is given.
public final class Epoll: Sendable {
    /// epoll event flags (epoll_ctl(2)).
    public struct Events: OptionSet, Hashable, Sendable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// EPOLLIN: data to read.
        public static let readable = Events(rawValue: EPOLLIN.rawValue)
        /// EPOLLOUT: room to write.
        public static let writable = Events(rawValue: EPOLLOUT.rawValue)
        /// EPOLLERR: an error is pending (always reported).
        public static let error = Events(rawValue: EPOLLERR.rawValue)
        /// EPOLLHUP: hang-up (always reported).
        public static let hangUp = Events(rawValue: EPOLLHUP.rawValue)
        /// EPOLLRDHUP: the peer closed its writing side.
        public static let readHangUp = Events(rawValue: EPOLLRDHUP.rawValue)
        /// EPOLLET: edge-triggered.
        public static let edgeTriggered = Events(rawValue: EPOLLET.rawValue)
        /// EPOLLONESHOT: disarm after one report.
        public static let oneShot = Events(rawValue: EPOLLONESHOT.rawValue)
    }

    /// One ready descriptor: what happened and the tag given when it was registered.
    public struct ReadyEvent: Hashable, Sendable {
        public var events: Events
        public var tag: UInt64
    }

    /// Preallocated room for the results of `wait`, reused across calls.
    public final class EventBuffer {
        /// How many events one `wait` can report.
        public let capacity: Int
        /// Events filled by the last `wait`.
        public private(set) var count = 0
        let storage: UnsafeMutablePointer<epoll_event>

        /// Room for `capacity` events (at least 1), allocated once.
        public init(capacity: Int = 64) {
            self.capacity = max(1, capacity)
            storage = .allocate(capacity: self.capacity)
            storage.initialize(repeating: epoll_event(), count: self.capacity)
        }

        deinit {
            storage.deallocate()
        }

        /// The `index`-th event of the last `wait`.
        public subscript(index: Int) -> ReadyEvent {
            precondition(index >= 0 && index < count, "Epoll event index out of range")
            let event = storage[index]
            return ReadyEvent(events: Events(rawValue: event.events), tag: event.data.u64)
        }

        func setCount(_ count: Int) { self.count = count }
    }

    /// The epoll descriptor.
    public let fileDescriptor: Int32
    private let closed = Atomic<Bool>(false)

    /// Creates the epoll instance (epoll_create1 with EPOLL_CLOEXEC).
    public init() throws(NetworkError) {
        fileDescriptor = try systemCall(.epollCreate) { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    deinit {
        if !closed.load(ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// Closes the epoll descriptor (not the registered ones). Later calls do nothing.
    public func close() {
        if !closed.exchange(true, ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// Registers `descriptor` for `events`; `tag` comes back with each of its events.
    public func add(_ descriptor: Int32, events: Events, tag: UInt64) throws(NetworkError) {
        try control(EPOLL_CTL_ADD, descriptor, events: events, tag: tag)
    }

    /// Changes the events and tag of a registered descriptor.
    public func modify(_ descriptor: Int32, events: Events, tag: UInt64) throws(NetworkError) {
        try control(EPOLL_CTL_MOD, descriptor, events: events, tag: tag)
    }

    /// Unregisters a descriptor.
    public func remove(_ descriptor: Int32) throws(NetworkError) {
        try control(EPOLL_CTL_DEL, descriptor, events: [], tag: 0)
    }

    private func control(_ operation: Int32, _ descriptor: Int32, events: Events, tag: UInt64) throws(NetworkError) {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = tag
        let epfd = fileDescriptor
        _ = try systemCall(.epollControl) { epoll_ctl(epfd, operation, descriptor, &event) }
    }

    /// Waits until a registered descriptor is ready, or `timeoutNanoseconds` pass (nil: no
    /// limit; 0: poll), and puts the ready events into `buffer` (epoll_pwait2(2), so the timeout
    /// is not rounded to milliseconds where the kernel has it). Returns the number of events; 0
    /// on timeout. A signal arriving meanwhile also returns 0.
    @discardableResult
    public func wait(into buffer: EventBuffer, timeoutNanoseconds: Int64?) throws(NetworkError) -> Int {
        let result = cpptp_epoll_wait_ns(
            fileDescriptor,
            buffer.storage,
            Int32(clamping: buffer.capacity),
            timeoutNanoseconds.map { max(0, $0) } ?? -1
        )
        if result < 0 {
            let error = Errno(rawValue: errno)
            if error == .interrupted {
                buffer.setCount(0)
                return 0
            }
            throw .system(.epollWait, error)
        }
        buffer.setCount(Int(result))
        return Int(result)
    }
}

@available(*, unavailable)
extension Epoll.EventBuffer: Sendable {}

/// An eventfd(2) counter for waking a data-plane thread from other threads: `signal()` from
/// anywhere makes the descriptor readable until the waiting thread calls `drain()`.
public final class EventFD: Sendable {
    /// The non-blocking descriptor, for epoll (`.readable`).
    public let fileDescriptor: Int32
    private let closed = Atomic<Bool>(false)

    /// Creates a non-blocking, close-on-exec eventfd with the counter at 0.
    public init() throws(NetworkError) {
        fileDescriptor = try systemCall(.eventfd) { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }

    deinit {
        if !closed.load(ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// Closes the descriptor. Later calls do nothing.
    public func close() {
        if !closed.exchange(true, ordering: .relaxed) { closeDescriptor(fileDescriptor) }
    }

    /// Adds 1 to the counter, waking a waiter. Never blocks: a counter at its maximum is
    /// already signalled.
    public func signal() throws(NetworkError) {
        var one: UInt64 = 1
        let fd = fileDescriptor
        _ = try nonBlockingSystemCall(.write) { Glibc.write(fd, &one, 8) }
    }

    /// Reads and resets the counter: the number of signals since the last drain (0 if none).
    @discardableResult
    public func drain() throws(NetworkError) -> UInt64 {
        var value: UInt64 = 0
        let fd = fileDescriptor
        guard try nonBlockingSystemCall(.read, { Glibc.read(fd, &value, 8) }) != nil else { return 0 }
        return value
    }
}

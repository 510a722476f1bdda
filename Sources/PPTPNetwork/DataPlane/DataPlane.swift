import Glibc
import NIOCore
import PPP
import PPTP
import Synchronization

/// The data plane: one thread that owns a `SessionTable` and moves packets between a TUN
/// device and the raw GRE socket with batched system calls (DESIGN.md "Data path"): up to
/// `batchSize` TUN reads then one sendmmsg, one recvmmsg for up to `batchSize` GRE packets,
/// headers written in place in the headroom of the read buffers, no allocation per packet.
///
/// Other threads talk to it with `submit` (a command queue and an eventfd); it reports events
/// through `onEvent` from its own thread.
public final class DataPlane: Sendable {
    public struct Configuration: Sendable {
        public var batchSize: Int
        public var bufferSize: Int
        /// How old a snapshot may be before `snapshot()` asks for a new one. Snapshots are taken on demand:
        /// walking every session costs about 1 µs each, which a server with 100 000 idle sessions should not pay
        /// every second when nobody asks.
        public var statisticsInterval: TimeAmount
        /// Session timers may fire this much late, so that timers due close together run in one wake-up and
        /// their packets go out in one sendmmsg: with 100 000 idle sessions, LCP echoes and the acknowledgments
        /// of their replies come due about 7 000 times a second, each a wake-up of its own without slack. Timers
        /// never fire early. PPP restart (3 s), acknowledgment (100 ms), reorder (50 ms) and echo (30 s) timers
        /// do not mind 10 ms.
        public var timerSlack: TimeAmount

        public init(
            batchSize: Int = 32,
            bufferSize: Int = 2048,
            statisticsInterval: TimeAmount = .seconds(1),
            timerSlack: TimeAmount = .milliseconds(10)
        ) {
            self.batchSize = batchSize
            self.bufferSize = bufferSize
            self.statisticsInterval = statisticsInterval
            self.timerSlack = timerSlack
        }
    }

    public let mode: SessionTable.Mode
    public let configuration: Configuration
    public let tun: TunDevice
    public let socket: RawGRESocket
    private let epoll: Epoll
    private let wake: EventFD
    private let commands = Mutex<[DataPlaneCommand]>([])
    /// The latest snapshot the thread published, and the readers waiting for the next one.
    private let published = Mutex<
        (latest: DataPlaneSnapshot?, waiting: [CheckedContinuation<DataPlaneSnapshot, Never>])
    >(
        (nil, [])
    )
    private let running = Atomic<Bool>(false)
    /// System calls of the thread that failed (owned by the thread; read into snapshots).
    private nonisolated(unsafe) var failures = (poll: 0, tunRead: 0, greReceive: 0)
    private let threadBox = Mutex<NamedThread?>(nil)
    private let onEvent: @Sendable (SessionKey, DataPlaneEvent) -> Void

    public init(
        mode: SessionTable.Mode,
        tun: TunDevice,
        socket: RawGRESocket,
        configuration: Configuration = Configuration(),
        onEvent: @escaping @Sendable (SessionKey, DataPlaneEvent) -> Void
    ) throws(NetworkError) {
        self.mode = mode
        self.tun = tun
        self.socket = socket
        self.configuration = configuration
        self.onEvent = onEvent
        self.epoll = try Epoll()
        self.wake = try EventFD()
    }

    /// Starts the data-plane thread.
    public func start(name: String = "pptp-data") throws(NetworkError) {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try epoll.add(tun.fileDescriptor, events: .readable, tag: 1)
        try epoll.add(socket.fileDescriptor, events: .readable, tag: 2)
        try epoll.add(wake.fileDescriptor, events: .readable, tag: 3)
        let thread = try NamedThread.start(name: name) { [self] in
            self.run()
        }
        threadBox.withLock { $0 = thread }
    }

    /// Stops the thread and waits for it. Sessions still in the table are dropped without a
    /// word: call `.close` or `.callCleared` for each first for a polite end.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        try? wake.signal()
        let thread = threadBox.withLock { box -> NamedThread? in
            defer { box = nil }
            return box
        }
        thread?.join()
        epoll.close()
        wake.close()
        // Readers that asked as the thread stopped get the last snapshot.
        let (latest, waiting) = published.withLock { state in
            defer { state.waiting.removeAll() }
            return (state.latest ?? DataPlaneSnapshot(), state.waiting)
        }
        for reader in waiting { reader.resume(returning: latest) }
    }

    /// Queues a command for the data-plane thread.
    public func submit(_ command: DataPlaneCommand) {
        commands.withLock { $0.append(command) }
        try? wake.signal()
    }

    /// The sessions' and the data plane's counters: the latest snapshot when it is at most
    /// `statisticsInterval` old, else the next one the thread publishes (it takes it at the end of its
    /// next wake-up, which the request causes). Nobody waits on a lock or sleeps for it.
    public func snapshot() async -> DataPlaneSnapshot {
        let now = NIODeadline.now()
        let interval = configuration.statisticsInterval
        if let fresh = published.withLock({ $0.latest }),
            !running.load(ordering: .relaxed) || now - fresh.taken <= interval
        {
            return fresh
        }
        guard running.load(ordering: .relaxed) else { return DataPlaneSnapshot() }
        return await withCheckedContinuation { reader in
            let queued = published.withLock { state -> Bool in
                // `stop` answers the waiting readers after the thread is gone; one that comes later is
                // answered here.
                guard running.load(ordering: .relaxed) else { return false }
                state.waiting.append(reader)
                return true
            }
            if queued {
                try? wake.signal()
            } else {
                reader.resume(returning: published.withLock { $0.latest } ?? DataPlaneSnapshot())
            }
        }
    }

    // MARK: - The thread

    private func run() {
        guard
            let receiveBatch = try? PacketBatch(
                capacity: configuration.batchSize,
                bufferSize: configuration.bufferSize,
                headroom: 64
            ),
            let tunBatch = try? PacketBatch(
                capacity: configuration.batchSize,
                bufferSize: configuration.bufferSize,
                headroom: 64
            ),
            let sendBatch = try? PacketBatch(
                capacity: configuration.batchSize * 2,
                bufferSize: configuration.bufferSize,
                headroom: 0
            )
        else { return }
        let events = Epoll.EventBuffer(capacity: 8)
        var table = SessionTable(mode: mode)
        var sink = BatchSink(socket: socket, tun: tun, batch: sendBatch)

        while running.load(ordering: .relaxed) {
            let now = NIODeadline.now()
            // No deadline: sleep until a packet or a command (nil waits without limit). A deadline still
            // ahead is waited for with the slack added (see `timerSlack`).
            let slack = configuration.timerSlack.nanoseconds
            let timeout = table.nextDeadline.map { deadline -> Int64 in
                let ahead = (deadline - now).nanoseconds
                return ahead <= 0 ? 0 : ahead + slack
            }
            let ready: Int
            do {
                ready = try epoll.wait(into: events, timeoutNanoseconds: timeout)
            } catch {
                failures.poll &+= 1
                ready = 0
            }
            let woke = NIODeadline.now()
            for index in 0..<ready {
                switch events[index].tag {
                case 1:
                    // One batch per wake-up, so GRE and commands are not starved.
                    let count: Int
                    do {
                        count = try tun.read(into: tunBatch, maximum: configuration.batchSize)
                    } catch {
                        failures.tunRead &+= 1
                        count = 0
                    }
                    for slot in 0..<count {
                        let meta = tunBatch[slot]
                        table.receiveTUN(
                            tunBatch.buffer(slot),
                            payload: meta.offset..<(meta.offset + meta.length),
                            now: woke,
                            sink: &sink
                        )
                    }
                case 2:
                    let count: Int
                    do {
                        count = try socket.receive(into: receiveBatch)
                    } catch {
                        failures.greReceive &+= 1
                        count = 0
                    }
                    for slot in 0..<count {
                        let meta = receiveBatch[slot]
                        table.receiveGRE(
                            from: meta.peer,
                            to: meta.local,
                            receiveBatch.packet(slot),
                            now: woke,
                            sink: &sink
                        )
                    }
                default:
                    _ = try? wake.drain()
                    let pending = commands.withLock { queue -> [DataPlaneCommand] in
                        defer { queue.removeAll(keepingCapacity: true) }
                        return queue
                    }
                    for command in pending { table.apply(command, now: woke, sink: &sink) }
                }
            }
            table.runTimers(now: woke, sink: &sink)
            sink.flush()
            if !sink.events.isEmpty {
                for (key, event) in sink.events { onEvent(key, event) }
                sink.events.removeAll(keepingCapacity: true)
            }
            if published.withLock({ !$0.waiting.isEmpty }) { publish(&table, sink: sink) }
        }
        // Final snapshot, so a stopped data plane still reports what it did.
        publish(&table, sink: sink)
    }

    /// Takes a snapshot, keeps it as the latest and gives it to the readers waiting for it.
    private func publish(_ table: inout SessionTable, sink: BatchSink) {
        var counters = table.counters
        counters.pollFailures = failures.poll
        counters.tunReadFailures = failures.tunRead
        counters.greReceiveFailures = failures.greReceive
        counters.tunWriteFailures = sink.tunWriteFailures
        counters.greSendFailures = sink.sendFailures
        let snapshot = DataPlaneSnapshot(sessions: table.statistics(), counters: counters, taken: .now())
        let waiting = published.withLock { state in
            state.latest = snapshot
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for reader in waiting { reader.resume(returning: snapshot) }
    }
}

/// What the data plane did, as the thread saw it at `taken`.
public struct DataPlaneSnapshot: Sendable {
    public var sessions: [SessionStatistics] = []
    public var counters = DataPlaneCounters()
    public var taken = NIODeadline.uptimeNanoseconds(0)

    public init(
        sessions: [SessionStatistics] = [],
        counters: DataPlaneCounters = DataPlaneCounters(),
        taken: NIODeadline = .uptimeNanoseconds(0)
    ) {
        self.sessions = sessions
        self.counters = counters
        self.taken = taken
    }
}

/// The sink of the data-plane thread: GRE packets are copied into a send batch that goes out
/// with one sendmmsg when full or at the end of a wake-up; TUN writes go out one by one (the
/// TUN device takes one packet per write); events wait until the end of the wake-up.
struct BatchSink: DataPlaneSink {
    let socket: RawGRESocket
    let tun: TunDevice
    let batch: PacketBatch
    var events: [(SessionKey, DataPlaneEvent)] = []
    var tunWriteFailures = 0
    /// Send batches the socket refused with an error (not a full buffer).
    var sendFailures = 0

    init(socket: RawGRESocket, tun: TunDevice, batch: PacketBatch) {
        self.socket = socket
        self.tun = tun
        self.batch = batch
    }

    mutating func sendGRE(_ packet: UnsafeRawBufferPointer, to peer: IPv4Address, from local: IPv4Address) {
        if batch.count == batch.capacity { flush() }
        batch.append(packet, peer: peer, local: local)
    }

    mutating func deliver(_ packet: UnsafeRawBufferPointer) {
        if (try? tun.write(packet)) != true { tunWriteFailures &+= 1 }
    }

    mutating func report(_ event: DataPlaneEvent, for key: SessionKey) {
        events.append((key, event))
    }

    mutating func flush() {
        guard batch.count > 0 else { return }
        var start = 0
        // The socket is non-blocking: retry a full send buffer a few times, then drop.
        for _ in 0..<8 where start < batch.count {
            guard let result = try? socket.send(batch, from: start) else {
                sendFailures &+= 1
                break
            }
            start = result.next
            if start < batch.count { sched_yield() }
        }
        batch.removeAll()
    }
}

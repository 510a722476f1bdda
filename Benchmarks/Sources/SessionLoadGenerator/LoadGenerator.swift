import Glibc
import NIOCore
import PPP
import PPTP
import PPTPNetwork
import Synchronization

/// Set by SIGTERM/SIGINT; the loop wakes at least every 100 ms to look at it.
let terminationRequested = Atomic<Bool>(false)

/// Where a session stands.
enum Phase: UInt8 {
    /// Its control connection is not up yet.
    case waiting
    /// Outgoing-Call-Request sent.
    case calling
    /// The call is connected; PPP negotiates (LCP, MS-CHAPv2, CCP, IPCP).
    case ppp
    /// IPCP is up.
    case up
    /// Did not come up, or went down.
    case gone
}

/// One control connection (TCP) and the engine that runs it.
struct ControlSlot {
    var fd: Int32
    var engine: ControlConnection
    /// TCP connect in progress.
    var connecting = true
    /// Control bytes the socket did not take yet (we then wait for EPOLLOUT).
    var pending: [UInt8] = []
    var deadline: NIODeadline?
}

/// Collects the GRE the session tables send (one batch per source address, sent with sendmmsg) and their events.
struct LoadSink: DataPlaneSink {
    let batches: [PacketBatch]
    let sockets: [RawGRESocket]
    var current = 0
    var dirty: [Bool]
    var events: [(source: Int, key: SessionKey, event: DataPlaneEvent)] = []
    var sendDrops = 0

    init(batches: [PacketBatch], sockets: [RawGRESocket]) {
        self.batches = batches
        self.sockets = sockets
        self.dirty = Array(repeating: false, count: batches.count)
    }

    mutating func sendGRE(_ packet: UnsafeRawBufferPointer, to peer: IPv4Address, from local: IPv4Address) {
        let batch = batches[current]
        if batch.count == batch.capacity { flush(current) }
        batch.append(packet, peer: peer, local: local)
        dirty[current] = true
    }

    mutating func deliver(_ packet: UnsafeRawBufferPointer) {}

    mutating func report(_ event: DataPlaneEvent, for key: SessionKey) {
        events.append((current, key, event))
    }

    mutating func flush(_ source: Int) {
        let batch = batches[source]
        dirty[source] = false
        guard batch.count > 0 else { return }
        var start = 0
        for _ in 0..<16 where start < batch.count {
            guard let result = try? sockets[source].send(batch, from: start) else { break }
            start = result.next
            if start < batch.count { sched_yield() }
        }
        sendDrops += batch.count - start
        batch.removeAll()
    }

    mutating func flushAll() {
        for source in 0..<batches.count where dirty[source] { flush(source) }
    }
}

/// The load generator: one thread, one epoll loop over every TCP socket and one raw GRE socket per source address.
/// Session `i` is call `i % K` of control connection `c = i / K` (K calls per connection); connection `c` uses source
/// `c % S`, and its calls the Call IDs `(c / S) * K + 1 ...`, so (source, Call ID), the session index and the connection
/// map onto each other without a table.
final class LoadGenerator {
    let options: Options
    let credentials: ClientCredentials
    let epoll: Epoll
    let sockets: [RawGRESocket]
    var tables: [SessionTable]
    var sink: LoadSink
    let receiveBatch: PacketBatch
    var slots: [ControlSlot] = []
    var phases: [Phase] = []
    var timers = DeadlineHeap<Int>()
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)

    var inFlight = 0
    var upCount = 0
    var failedCount = 0
    var lostAfterUp = 0
    var failures: [String: Int] = [:]
    var reported = false
    let started = NIODeadline.now()
    var lastUp = NIODeadline.now()

    static let greTag: UInt64 = 1 << 40

    init(options: Options, password: String) throws {
        self.options = options
        self.credentials = ClientCredentials(userName: options.user, password: password)
        self.epoll = try Epoll()
        var sockets: [RawGRESocket] = []
        var batches: [PacketBatch] = []
        for (index, source) in options.sources.enumerated() {
            let socket = try RawGRESocket(local: source, remote: options.server, bufferSize: 4 << 20)
            try epoll.add(socket.fileDescriptor, events: .readable, tag: Self.greTag | UInt64(index))
            sockets.append(socket)
            batches.append(try PacketBatch(capacity: 64, bufferSize: 2048, headroom: 0))
        }
        self.sockets = sockets
        self.tables = options.sources.map { _ in SessionTable(mode: .client) }
        self.sink = LoadSink(batches: batches, sockets: sockets)
        self.receiveBatch = try PacketBatch(capacity: 64, bufferSize: 2048, headroom: 64)
        slots.reserveCapacity(options.connections)
        phases.reserveCapacity(options.sessions)
    }

    var sourceCount: Int { options.sources.count }
    var perConnection: Int { options.callsPerConnection }
    /// The source address of connection `c`.
    func source(ofConnection c: Int) -> Int { c % sourceCount }
    /// The source address of session `i`.
    func source(of i: Int) -> Int { source(ofConnection: i / perConnection) }
    func connection(of i: Int) -> Int { i / perConnection }
    func callID(of i: Int) -> UInt16 {
        let c = i / perConnection
        return UInt16(truncatingIfNeeded: (c / sourceCount) * perConnection + i % perConnection + 1)
    }
    func key(of i: Int) -> SessionKey { SessionKey(peer: options.server, callID: callID(of: i)) }
    /// The session of a Call ID on a source address.
    func session(source: Int, callID: UInt16) -> Int {
        let j = Int(callID) - 1
        return ((j / perConnection) * sourceCount + source) * perConnection + j % perConnection
    }
    /// The sessions of connection `c`.
    func sessions(ofConnection c: Int) -> Range<Int> {
        (c * perConnection)..<min(options.sessions, (c + 1) * perConnection)
    }

    // MARK: - The loop

    func run() {
        let events = Epoll.EventBuffer(capacity: 256)
        var nextProgress = started + options.progressInterval
        let setupDeadline = started + options.setupTimeout
        while !terminationRequested.load(ordering: .relaxed) {
            startSessions(now: .now())
            let now = NIODeadline.now()
            var wake = now + .milliseconds(100)
            if let deadline = timers.peek() { wake = min(wake, deadline) }
            for table in tables { if let deadline = table.nextDeadline { wake = min(wake, deadline) } }
            if !reported { wake = min(wake, nextProgress) }
            let ready = (try? epoll.wait(into: events, timeoutNanoseconds: max(0, (wake - now).nanoseconds))) ?? 0
            let woke = NIODeadline.now()
            for position in 0..<ready {
                let event = events[position]
                if event.tag & Self.greTag != 0 {
                    receiveGRE(source: Int(event.tag & 0xFFFF), now: woke)
                } else {
                    socketReady(Int(event.tag), events: event.events, now: woke)
                }
            }
            runTimers(now: woke)
            sink.flushAll()
            if !reported {
                if woke >= nextProgress {
                    progress(woke)
                    nextProgress = woke + options.progressInterval
                }
                if upCount + failedCount == options.sessions {
                    report()
                } else if woke >= setupDeadline {
                    let missing = options.sessions - upCount - failedCount
                    failures["not up within the set-up time-out", default: 0] += missing
                    failedCount += missing
                    report()
                }
            }
        }
        teardown()
    }

    private func progress(_ now: NIODeadline) {
        let seconds = Double((now - started).nanoseconds) / 1e9
        printError(
            "[\(format(seconds)) s] up \(upCount), in flight \(inFlight), failed \(failedCount)"
                + (lostAfterUp > 0 ? ", lost after up \(lostAfterUp)" : "")
                + (sink.sendDrops > 0 ? ", GRE send drops \(sink.sendDrops)" : "")
        )
    }

    private func report() {
        reported = true
        let seconds = Double((lastUp - started).nanoseconds) / 1e9
        progress(.now())
        if failedCount == 0 {
            printOut("up \(upCount) \(format(seconds))")
        } else {
            let reasons = failures.sorted { $0.value > $1.value }.map { "\($0.value)× \($0.key)" }.joined(
                separator: "; "
            )
            printOut("failed \(failedCount) \(reasons)")
        }
        for (reason, count) in failures.sorted(by: { $0.value > $1.value }) { printError("  \(count)× \(reason)") }
    }

    private func teardown() {
        progress(.now())
        printError("closing \(slots.filter { $0.fd >= 0 }.count) control connections")
        for c in slots.indices where slots[c].fd >= 0 {
            close(slots[c].fd)
            slots[c].fd = -1
        }
        for socket in sockets { socket.close() }
        epoll.close()
    }

    // MARK: - Starting sessions

    private func startSessions(now: NIODeadline) {
        while slots.count < options.connections && !terminationRequested.load(ordering: .relaxed) {
            let c = slots.count
            let calls = sessions(ofConnection: c)
            guard inFlight == 0 || inFlight + calls.count <= options.concurrency else { return }
            let engine = ControlConnection(
                configuration: ControlConnectionConfiguration(
                    role: .pns,
                    hostName: "loadgen",
                    vendor: "swift-pptp loadgen",
                    establishTimeout: .seconds(60),
                    receiveWindow: 16384
                ),
                echoIdentifierSeed: UInt32(truncatingIfNeeded: c) &* 2_654_435_761 | 1
            )
            inFlight += calls.count
            for _ in calls { phases.append(.waiting) }
            switch startConnect(from: options.sources[source(ofConnection: c)], to: options.server, port: options.port)
            {
            case .inProgress(let fd):
                slots.append(ControlSlot(fd: fd, engine: engine))
                do {
                    try epoll.add(fd, events: [.readable, .writable], tag: UInt64(c))
                } catch {
                    connectionLost(c, "epoll_ctl: \(error)")
                }
            case .failed(let reason):
                slots.append(ControlSlot(fd: -1, engine: engine))
                connectionLost(c, reason)
            }
        }
    }

    // MARK: - TCP

    private func socketReady(_ c: Int, events: Epoll.Events, now: NIODeadline) {
        guard c < slots.count, slots[c].fd >= 0 else { return }
        let fd = slots[c].fd
        if slots[c].connecting {
            let error = socketError(fd)
            guard error == 0 else {
                connectionLost(c, "TCP connect: \(errorText(error))")
                return
            }
            guard events.contains(.writable) || events.contains(.readable) else { return }
            slots[c].connecting = false
            try? epoll.modify(fd, events: .readable, tag: UInt64(c))
            perform(c, slots[c].engine.connect(now: now))
            return
        }
        if events.contains(.writable) { flushPending(c) }
        if events.contains(.readable) || events.contains(.hangUp) || events.contains(.error) {
            readControl(c, now: now)
        }
    }

    private func readControl(_ c: Int, now: NIODeadline) {
        for _ in 0..<4 {
            let fd = slots[c].fd
            guard fd >= 0 else { return }
            let count = read(fd, readBuffer.baseAddress, readBuffer.count)
            if count > 0 {
                let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
                perform(c, slots[c].engine.receive(bytes: bytes, now: now))
                if count < readBuffer.count { return }
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
            let why = count == 0 ? "the server closed the control connection" : "TCP: \(errorText(errno))"
            perform(c, slots[c].engine.transportClosed())
            connectionLost(c, why)
            return
        }
    }

    private func write(_ c: Int, _ message: ControlMessage) {
        let fd = slots[c].fd
        guard fd >= 0 else { return }
        let buffer = message.serialized()
        if !slots[c].pending.isEmpty {
            slots[c].pending += buffer.readableBytesView
            return
        }
        let written = buffer.withUnsafeReadableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written == buffer.readableBytes { return }
        if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            connectionLost(c, "TCP write: \(errorText(errno))")
            return
        }
        slots[c].pending = Array(buffer.readableBytesView.dropFirst(max(0, written)))
        try? epoll.modify(fd, events: [.readable, .writable], tag: UInt64(c))
    }

    private func flushPending(_ c: Int) {
        let fd = slots[c].fd
        guard fd >= 0 else { return }
        if !slots[c].pending.isEmpty {
            let written = slots[c].pending.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written > 0 { slots[c].pending.removeFirst(written) }
        }
        if slots[c].pending.isEmpty { try? epoll.modify(fd, events: .readable, tag: UInt64(c)) }
    }

    // MARK: - Control connection actions

    private func perform(_ c: Int, _ actions: [ControlAction]) {
        let now = NIODeadline.now()
        for action in actions {
            switch action {
            case .send(let message):
                write(c, message)
            case .established:
                for i in sessions(ofConnection: c) where phases[i] == .waiting {
                    phases[i] = .calling
                    let serial = UInt16(truncatingIfNeeded: i)
                    perform(c, slots[c].engine.placeOutgoingCall(callID: callID(of: i), serialNumber: serial, now: now))
                }
            case .callOffered(let offer):
                perform(c, slots[c].engine.answerCall(peerCallID: offer.peerCallID, with: nil, now: now))
            case .callConnected(let info):
                callConnected(session(source: source(ofConnection: c), callID: info.callID), info, now: now)
            case .callCleared(let callID, let reason):
                let i = session(source: source(ofConnection: c), callID: callID)
                if sessions(ofConnection: c).contains(i) { sessionLost(i, "call cleared: \(reason)") }
            case .close(let reason):
                connectionLost(c, "control connection closed: \(reason)")
            case .linkInfo, .wanError, .violation:
                break
            }
        }
        reschedule(c)
    }

    private func reschedule(_ c: Int) {
        let next = slots[c].fd >= 0 ? slots[c].engine.nextDeadline : nil
        guard next != slots[c].deadline else { return }
        slots[c].deadline = next
        if let next { timers.push(next, c) }
    }

    private func callConnected(_ i: Int, _ info: CallInformation, now: NIODeadline) {
        guard phases[i] == .calling else { return }
        phases[i] = .ppp
        let ppp = PPPSessionConfiguration(
            role: .client,
            policy: .default,  // MS-CHAPv2, MPPE-128 stateless required
            mru: 1500,
            name: "loadgen",
            credentials: credentials,
            ipcp: .requesting(preferred: .unspecified, requestDNS: false),
            ipv6: false,
            echoInterval: options.lcpEchoInterval,
            echoFailures: 4,
            handshakeTimeout: .seconds(60)
        )
        let tunnel = TunnelSession(
            call: info,
            gre: GRESequencerConfiguration(),
            ppp: ppp,
            random: SystemRandomNumberGenerator()
        )
        let source = source(of: i)
        sink.current = source
        tables[source].apply(.add(key(of: i), tunnel), now: now, sink: &sink)
        handleTableEvents()
    }

    // MARK: - GRE

    private func receiveGRE(source: Int, now: NIODeadline) {
        sink.current = source
        for _ in 0..<16 {
            let count = (try? sockets[source].receive(into: receiveBatch)) ?? 0
            for slot in 0..<count {
                let meta = receiveBatch[slot]
                tables[source].receiveGRE(from: meta.peer, receiveBatch.packet(slot), now: now, sink: &sink)
            }
            handleTableEvents()
            if count < receiveBatch.capacity { break }
        }
    }

    private func runTimers(now: NIODeadline) {
        while let (deadline, c) = timers.popDue(now: now) {
            guard slots[c].deadline == deadline, slots[c].fd >= 0 else { continue }
            slots[c].deadline = nil
            perform(c, slots[c].engine.timeout(now: now))
        }
        for source in tables.indices {
            guard let deadline = tables[source].nextDeadline, deadline <= now else { continue }
            sink.current = source
            tables[source].runTimers(now: now, sink: &sink)
            handleTableEvents()
        }
    }

    private func handleTableEvents() {
        while !sink.events.isEmpty {
            let events = sink.events
            sink.events.removeAll(keepingCapacity: true)
            for (source, key, event) in events {
                let i = session(source: source, callID: key.callID)
                guard i < phases.count else { continue }
                switch event {
                case .ppp(.networkUp):
                    if phases[i] == .ppp {
                        phases[i] = .up
                        upCount += 1
                        inFlight -= 1
                        lastUp = .now()
                    }
                case .ppp(.down(let reason)):
                    let c = connection(of: i)
                    let wasLive = phases[i] != .gone
                    sessionLost(i, "PPP down: \(reason)")
                    // Clear the call (Call-Clear-Request); the connection goes when it has no call left.
                    if wasLive && slots[c].fd >= 0 {
                        perform(c, slots[c].engine.clearCall(callID(of: i), now: .now()))
                        if !sessions(ofConnection: c).contains(where: { phases[$0] != .gone }) {
                            perform(c, slots[c].engine.stop(reason: .none, now: .now()))
                        }
                    }
                case .verify, .ppp, .anomaly, .removed:
                    break
                }
            }
        }
    }

    // MARK: - Endings

    /// A session that did not come up (counted as failed) or went down after (counted as lost).
    private func sessionLost(_ i: Int, _ reason: String) {
        switch phases[i] {
        case .gone:
            return
        case .up:
            lostAfterUp += 1
            if lostAfterUp <= 10 { printError("session \(i) lost after it was up: \(reason)") }
        case .waiting, .calling, .ppp:
            failures[reason, default: 0] += 1
            failedCount += 1
            inFlight -= 1
        }
        phases[i] = .gone
        let source = source(of: i)
        let previous = sink.current
        sink.current = source
        tables[source].apply(.remove(key(of: i)), now: .now(), sink: &sink)
        sink.current = previous
        // `.removed` events are of no use here; drop them so they do not pile up.
        sink.events.removeAll { if case .removed = $0.event { return true } else { return false } }
    }

    /// The control connection is gone: so are its sessions.
    private func connectionLost(_ c: Int, _ reason: String) {
        if slots[c].fd >= 0 {
            close(slots[c].fd)
            slots[c].fd = -1
        }
        slots[c].deadline = nil
        for i in sessions(ofConnection: c) where i < phases.count { sessionLost(i, reason) }
    }
}

func format(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return "\(scaled)"
}

func printOut(_ text: String) { writeLine(text, to: 1) }

func printError(_ text: String) { writeLine(text, to: 2) }

/// Unbuffered, so that bench/sessions.sh sees the line at once.
private func writeLine(_ text: String, to fd: Int32) {
    let bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { all -> Int in
            let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
            return Glibc.write(fd, rest.baseAddress, rest.count)
        }
        if written <= 0 { return }
        offset += written
    }
}

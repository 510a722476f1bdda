import NIOCore
import PPP
import PPTP

/// Identifies a tunnel session on the shared raw GRE socket: the peer's address, ours, and our
/// Call ID (DESIGN.md "Data path": demultiplexed by (peer address, our Call ID), so Call IDs may
/// repeat across peers and one process can hold more sessions than there are Call IDs; and calls
/// are matched by the address pair of their control connection, whose local address GRE leaves
/// from, so a multi-homed host answers from the address the peer reached).
public struct SessionKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var peer: IPv4Address
    /// Our address on the control connection; unspecified: any (the route picks the source).
    public var local: IPv4Address
    public var callID: UInt16

    public init(peer: IPv4Address, local: IPv4Address = .unspecified, callID: UInt16) {
        self.peer = peer
        self.local = local
        self.callID = callID
    }

    public var description: String { local == .unspecified ? "\(peer)#\(callID)" : "\(peer)#\(callID)@\(local)" }
}

/// What the data plane reports to the control plane.
public enum DataPlaneEvent: Hashable, Sendable {
    /// Decide this authentication, then send `.verdict`.
    case verify(AuthenticationRequest)
    case ppp(PPPSessionEvent)
    /// The session's traffic showed something worth a log line (once per session and kind).
    case anomaly(TunnelAnomaly)
    /// The first GRE packet for the session arrived (client mode only: the "GRE blocked" diagnosis
    /// waits for it, instead of polling counters).
    case firstGREReceived
    /// The session is gone from the table (after PPP went down or `remove`), with its counters.
    case removed(SessionStatistics)
}

/// What the control plane asks of the data plane.
public enum DataPlaneCommand: Sendable {
    /// A call connected: run this session (it is started at once).
    case add(SessionKey, TunnelSession)
    /// The call is gone: tell PPP, forget the session.
    case callCleared(SessionKey)
    /// Close PPP politely (LCP Terminate).
    case close(SessionKey, reason: LocalCloseReason)
    /// The answer to a `.verify`, with the addresses IPCP should use (server).
    case verdict(SessionKey, AuthenticationVerdict, addresses: IPCPNegotiator.Role?)
    /// Send an LCP echo now.
    case probe(SessionKey)
    /// Forget a session at once (its statistics are reported as `.removed`).
    case remove(SessionKey)
}

/// Statistics of one session, for logs and `pptp status`.
public struct SessionStatistics: Hashable, Sendable, Codable {
    public var key: SessionKey
    public var user: String?
    /// GRE packets received from the peer for this call.
    public var greReceived = 0
    public var clientAddress: String?
    public var bytesIn = 0
    public var bytesOut = 0
    public var packetsIn = 0
    public var packetsOut = 0
    public var lost = 0
    public var reordered = 0
    public var duplicates = 0
    public var greDroppedForWindow = 0
    public var mppeDropped = 0
    /// GRE packets refused before they touched the session (forged, corrupt, not allowed now).
    public var refused = 0
    /// Packets that could not prove themselves for their place in sequence (see `TunnelCounters`).
    public var unproven = 0
    public var downReason: String?

    public init(key: SessionKey) { self.key = key }
}

/// Where the session table sends its output: the data-plane thread batches these into system
/// calls; tests collect them.
public protocol DataPlaneSink {
    /// Send a GRE packet (the IP payload for protocol 47) to `peer`, from `local` unless unspecified.
    mutating func sendGRE(_ packet: UnsafeRawBufferPointer, to peer: IPv4Address, from local: IPv4Address)
    /// Deliver a network packet from a session to where it goes: the TUN device (client, server),
    /// or a line (a relay).
    mutating func deliver(_ packet: UnsafeRawBufferPointer)
    /// Report an event about a session to the control plane.
    mutating func report(_ event: DataPlaneEvent, for key: SessionKey)
}

/// Counters of the whole data plane.
public struct DataPlaneCounters: Hashable, Sendable, Codable {
    /// GRE packets from a (peer, Call ID) we have no session for: dropped.
    public var greUnknownSession = 0
    /// Packets from the TUN device to an address without a session: dropped.
    public var tunNoSession = 0
    /// Packets from the TUN device that are not IPv4/IPv6, or too short.
    public var tunMalformed = 0
    /// Packets from a client whose source address is not the one assigned to it: dropped.
    public var spoofedSource = 0
    /// Packets dropped on the way to the peer (window full, MRU exceeded).
    public var sendDropped = 0
    /// System calls of the data-plane thread that failed (each failure is dropped work, never a crash).
    public var pollFailures = 0
    public var tunReadFailures = 0
    public var tunWriteFailures = 0
    public var greReceiveFailures = 0
    public var greSendFailures = 0
    /// ICMP Fragmentation-Needed sent back for packets larger than a session's peer takes.
    public var fragmentationNeededSent = 0
    public init() {}
}

/// The sessions of a data plane and their timers, as a sans-I/O core: fed with GRE packets, TUN
/// packets, commands and `now`, it writes to a `DataPlaneSink`. One thread owns it.
public struct SessionTable: Sendable {
    public enum Mode: Hashable, Sendable {
        /// One TUN for all sessions; packets from the TUN go to the session whose client has the
        /// destination address; packets from a client must carry its address as source.
        case server
        /// One session; every TUN packet goes to it.
        case client
    }

    public struct Slot: Sendable {
        var tunnel: TunnelSession
        var clientAddress: IPv4Address?
        var deadline: NIODeadline?
        var user: String?

        /// Runs `body` on the tunnel in place. On the packet path, reach the slot with
        /// `SessionTable.withSlot`, not `slots[key]?.run`: see there.
        mutating func run<T>(_ body: (inout TunnelSession) -> T) -> T { body(&tunnel) }

        /// Takes the tunnel's next deadline; says whether it changed.
        mutating func updateDeadline() -> (changed: Bool, deadline: NIODeadline?) {
            let next = tunnel.nextDeadline
            guard next != deadline else { return (false, next) }
            deadline = next
            return (true, next)
        }
    }

    public let mode: Mode
    private var slots: [SessionKey: Slot] = [:]
    private var byClientAddress: [UInt32: SessionKey] = [:]
    private var timers = DeadlineHeap<SessionKey>()
    public private(set) var counters = DataPlaneCounters()
    /// GRE packets that arrived for a session not yet added: the peer's first LCP request can
    /// overtake the command that adds the session (it races the Outgoing-Call-Reply). A few are
    /// kept briefly and replayed when the session appears.
    private var early: [(key: SessionKey, arrival: NIODeadline, packet: [UInt8])] = []
    static let earlyLimit = 16
    static let earlyLifetime = TimeAmount.seconds(2)

    public init(mode: Mode) { self.mode = mode }

    public var count: Int { slots.count }
    public var keys: Dictionary<SessionKey, Slot>.Keys { slots.keys }

    /// The earliest deadline of any session.
    public var nextDeadline: NIODeadline? { timers.peek() }

    // MARK: - Commands

    public mutating func apply(_ command: DataPlaneCommand, now: NIODeadline, sink: inout some DataPlaneSink) {
        switch command {
        case .add(let key, var tunnel):
            if slots[key] != nil { remove(key, sink: &sink) }
            let actions = tunnel.start(now: now)
            slots[key] = Slot(tunnel: tunnel)
            perform(actions, key: key, now: now, sink: &sink)
            reschedule(key)
            replayEarly(key, now: now, sink: &sink)
        case .callCleared(let key):
            guard let actions = withSlot(key, { $0.tunnel.callCleared(now: now) }) else { return }
            perform(actions, key: key, now: now, sink: &sink)
            remove(key, sink: &sink)
        case .close(let key, let reason):
            withSlot(key, now: now, sink: &sink) { $0.close(reason, now: now) }
        case .verdict(let key, let verdict, let addresses):
            withSlot(key, now: now, sink: &sink) { tunnel in
                if let addresses { tunnel.assignAddresses(addresses) }
                return tunnel.receive(verdict: verdict, now: now)
            }
        case .probe(let key):
            withSlot(key, now: now, sink: &sink) { $0.probeLiveness(now: now) }
        case .remove(let key):
            remove(key, sink: &sink)
        }
    }

    private mutating func withSlot(
        _ key: SessionKey,
        now: NIODeadline,
        sink: inout some DataPlaneSink,
        _ body: (inout TunnelSession) -> [TunnelAction]
    ) {
        guard let actions = withSlot(key, { body(&$0.tunnel) }) else { return }
        perform(actions, key: key, now: now, sink: &sink)
        reschedule(key)
    }

    private mutating func remove(_ key: SessionKey, sink: inout some DataPlaneSink) {
        guard var slot = slots.removeValue(forKey: key) else { return }
        if let address = slot.clientAddress, byClientAddress[address.rawValue] == key {
            byClientAddress[address.rawValue] = nil
        }
        sink.report(.removed(Self.statistics(key, &slot)), for: key)
    }

    /// Statistics of every session. Mutating only to reach each slot in place (see `withSlot`): reading
    /// `slots.values` copies every slot, with a retain of each of its references.
    public mutating func statistics() -> [SessionStatistics] {
        var result: [SessionStatistics] = []
        result.reserveCapacity(slots.count)
        var index = slots.startIndex
        while index != slots.endIndex {
            let key = slots.keys[index]
            result.append(Self.statistics(key, &slots.values[index]))
            index = slots.index(after: index)
        }
        return result
    }

    private static func statistics(_ key: SessionKey, _ slot: inout Slot) -> SessionStatistics {
        var stats = SessionStatistics(key: key)
        let data = slot.tunnel.ppp.dataPath.counters
        let gre = slot.tunnel.sequencer.counters
        stats.user = slot.user
        stats.greReceived = slot.tunnel.gre.counters.received
        stats.clientAddress = slot.clientAddress?.description
        stats.bytesIn = data.octetsReceived
        stats.bytesOut = data.octetsSent
        stats.packetsIn = data.framesReceived
        stats.packetsOut = data.framesSent
        stats.lost = gre.lost
        stats.reordered = gre.reordered
        stats.duplicates = gre.duplicates
        stats.greDroppedForWindow = gre.droppedForWindow
        stats.mppeDropped = data.droppedMPPE
        stats.refused = slot.tunnel.counters.refusedFrames
        stats.unproven = slot.tunnel.counters.unprovenPackets
        stats.downReason = slot.tunnel.ppp.downReason?.description
        return stats
    }

    // MARK: - Packets

    /// A GRE packet from `peer` (the IP payload of protocol 47), in a buffer the table may
    /// modify (decryption is in place).
    public mutating func receiveGRE(
        from peer: IPv4Address,
        to local: IPv4Address = .unspecified,
        _ buffer: UnsafeMutableRawBufferPointer,
        now: NIODeadline,
        sink: inout some DataPlaneSink
    ) {
        // RFC 2637 §4.1: the Call ID is octets 6–7 of the GRE header (Key, low half).
        guard buffer.count >= 8 else {
            counters.greUnknownSession &+= 1
            return
        }
        let callID = UInt16(buffer[6]) << 8 | UInt16(buffer[7])
        let key = SessionKey(peer: peer, local: local, callID: callID)
        // One lookup for the packet, the client address and the acknowledgment; the acknowledgment
        // is written straight into the send batch below, with no allocation (TunnelSession.receiveGRE).
        let found = withSlot(key) { slot in
            let before = slot.tunnel.gre.counters.received
            let (packet, actions) = slot.tunnel.receiveGRE(buffer, now: now, deferAcknowledgment: true)
            let acknowledgment = slot.tunnel.takeDueAcknowledgment().map { slot.tunnel.acknowledgmentHeader($0) }
            let first = before == 0 && slot.tunnel.gre.counters.received > 0
            return (packet, actions, slot.clientAddress, acknowledgment, first)
        }
        guard let (packet, actions, clientAddress, acknowledgment, first) = found else {
            counters.greUnknownSession &+= 1
            holdEarly(key, buffer, now: now)
            return
        }
        if first && mode == .client { sink.report(.firstGREReceived, for: key) }
        switch packet {
        case .ipv4(let range):
            if mode == .server, let clientAddress, !hasSource(clientAddress, buffer, range) {
                counters.spoofedSource &+= 1
            } else {
                sink.deliver(UnsafeRawBufferPointer(rebasing: buffer[range]))
            }
        case .ipv6(let range):
            sink.deliver(UnsafeRawBufferPointer(rebasing: buffer[range]))
        case nil:
            break
        }
        if !actions.isEmpty {
            perform(actions, key: key, now: now, sink: &sink)
        }
        if let acknowledgment {
            withUnsafeTemporaryAllocation(byteCount: GREHeader.maximumLength, alignment: 4) { bytes in
                let length = acknowledgment.write(to: bytes)
                sink.sendGRE(UnsafeRawBufferPointer(rebasing: bytes[..<length]), to: key.peer, from: key.local)
            }
        }
        reschedule(key)
    }

    private mutating func holdEarly(_ key: SessionKey, _ buffer: UnsafeMutableRawBufferPointer, now: NIODeadline) {
        early.removeAll { now - $0.arrival > Self.earlyLifetime }
        if early.count >= Self.earlyLimit { early.removeFirst() }
        early.append((key, now, Array(buffer)))
    }

    private mutating func replayEarly(_ key: SessionKey, now: NIODeadline, sink: inout some DataPlaneSink) {
        guard early.contains(where: { $0.key == key }) else { return }
        let mine = early.filter { $0.key == key && now - $0.arrival <= Self.earlyLifetime }
        early.removeAll { $0.key == key }
        for item in mine {
            var bytes = item.packet
            bytes.withUnsafeMutableBytes { receiveGRE(from: key.peer, to: key.local, $0, now: now, sink: &sink) }
            // Not unknown after all.
            counters.greUnknownSession &-= 1
        }
    }

    private func hasSource(_ address: IPv4Address, _ buffer: UnsafeMutableRawBufferPointer, _ range: Range<Int>) -> Bool
    {
        IPv4Packet.source(of: UnsafeRawBufferPointer(rebasing: buffer[range])) == address
    }

    /// A packet read from the TUN device, in `buffer[payload]` with `TunnelSession.headroom`
    /// octets free before it.
    public mutating func receiveTUN(
        _ buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>,
        now: NIODeadline,
        sink: inout some DataPlaneSink
    ) {
        guard payload.count >= 20 else {
            counters.tunMalformed &+= 1
            return
        }
        let version = buffer[payload.lowerBound] >> 4
        let protocolNumber: PPPProtocolNumber
        switch version {
        case 4: protocolNumber = .ipv4
        case 6: protocolNumber = .ipv6
        default:
            counters.tunMalformed &+= 1
            return
        }
        let key: SessionKey
        switch mode {
        case .client:
            guard let only = slots.keys.first else {
                counters.tunNoSession &+= 1
                return
            }
            key = only
        case .server:
            guard version == 4 else {
                counters.tunNoSession &+= 1
                return
            }
            guard let destination = IPv4Packet.destination(of: UnsafeRawBufferPointer(rebasing: buffer[payload])),
                let found = byClientAddress[destination.rawValue]
            else {
                counters.tunNoSession &+= 1
                return
            }
            key = found
        }
        guard let result = withSlot(key, { $0.tunnel.send(protocolNumber, in: buffer, payload: payload, now: now) })
        else {
            counters.tunNoSession &+= 1
            return
        }
        switch result {
        case .success(let range):
            sink.sendGRE(UnsafeRawBufferPointer(rebasing: buffer[range]), to: key.peer, from: key.local)
        case .failure(let reason):
            counters.sendDropped &+= 1
            if case .tooLarge = reason, protocolNumber == .ipv4 {
                fragmentationNeeded(key, UnsafeRawBufferPointer(rebasing: buffer[payload]), sink: &sink)
            }
        }
        reschedule(key)
    }

    /// A packet from the TUN device is larger than the session's peer takes (its MRU, less MPPE's
    /// octets: `PPPDataPath.largestDatagram`). One TUN device carries every session, so its MTU cannot
    /// fit each peer's MRU (Windows and accel-ppp ask for 1400): with Don't-Fragment set (every TCP
    /// packet), the sender is told the size with an ICMP Fragmentation-Needed (RFC 792, RFC 1191 §4) from
    /// our tunnel address, written back into the TUN, and path MTU discovery does the rest.
    private mutating func fragmentationNeeded(
        _ key: SessionKey,
        _ packet: UnsafeRawBufferPointer,
        sink: inout some DataPlaneSink
    ) {
        guard case .success(let header) = IPv4Packet.parse(packet),
            packet[6] & 0x40 != 0,  // Don't Fragment
            header.protocolNumber != 1 || packet.count <= header.headerLength || packet[header.headerLength] != 3,
            let (local, largest) = withSlot(
                key,
                { slot in
                    slot.tunnel.ppp.network.map { ($0.localAddress, slot.tunnel.ppp.dataPath.largestDatagram) }
                }
            ) ?? nil,
            largest >= 68
        else { return }
        let quoted = Array(packet.prefix(min(packet.count, header.headerLength + 8)))
        var message: [UInt8] = [
            3, 4, 0, 0, 0, 0, UInt8(truncatingIfNeeded: largest >> 8), UInt8(truncatingIfNeeded: largest),
        ]
        message += quoted
        let sum = message.withUnsafeBytes { IPv4Packet.checksum($0) }
        message[2] = UInt8(truncatingIfNeeded: sum >> 8)
        message[3] = UInt8(truncatingIfNeeded: sum)
        let reply = IPv4Packet.build(source: local, destination: header.source, protocolNumber: 1, payload: message)
        counters.fragmentationNeededSent &+= 1
        reply.withUnsafeBytes { sink.deliver($0) }
    }

    // MARK: - Timers

    /// Runs every session timer that is due.
    public mutating func runTimers(now: NIODeadline, sink: inout some DataPlaneSink) {
        while let (deadline, key) = timers.popDue(now: now) {
            // In place (`withSlot`): `slots[key]?.…` would copy or move the whole slot three times per timer.
            let actions = withSlot(key) { slot -> [TunnelAction]? in
                guard slot.deadline == deadline else { return nil }  // stale entry
                slot.deadline = nil
                return slot.tunnel.timeout(now: now)
            }
            guard let actions = actions ?? nil else { continue }
            perform(actions, key: key, now: now, sink: &sink)
            reschedule(key)
        }
    }

    private mutating func reschedule(_ key: SessionKey) {
        guard let update = withSlot(key, { $0.updateDeadline() }), update.changed, let next = update.deadline else {
            return
        }
        timers.push(next, key)
    }

    /// Runs `body` on the slot of `key` in place; nil when there is none. Goes through
    /// `values[index]`, whose modify accessor yields the slot where it lies: `slots[key]?.…`
    /// moves the slot (about 3.4 KB) out into an optional and copies it back, with three heap
    /// allocations per access, and reading a field through `slots[key]?` copies the whole slot.
    /// Benchmarks/DataPathBenchmarks measures the three accesses of a packet that way at 1.7–3×
    /// the cost of the packet itself, 6 allocations; through `values[index]`, 1.1–1.2×, none.
    private mutating func withSlot<T>(_ key: SessionKey, _ body: (inout Slot) -> T) -> T? {
        guard let index = slots.index(forKey: key) else { return nil }
        return body(&slots.values[index])
    }

    // MARK: - Actions

    private mutating func perform(
        _ actions: [TunnelAction],
        key: SessionKey,
        now: NIODeadline,
        sink: inout some DataPlaneSink
    ) {
        for action in actions {
            switch action {
            case .sendGRE(let packet):
                packet.withUnsafeReadableBytes { sink.sendGRE($0, to: key.peer, from: key.local) }
            case .deliver(let protocolNumber, let bytes):
                if protocolNumber == .ipv4, mode == .server, let address = withSlot(key, { $0.clientAddress }) ?? nil {
                    var copy = bytes
                    let ok = copy.withUnsafeMutableBytes { hasSource(address, $0, 0..<$0.count) }
                    if !ok {
                        counters.spoofedSource &+= 1
                        continue
                    }
                }
                bytes.withUnsafeBytes { sink.deliver($0) }
            case .verify(let request):
                sink.report(.verify(request), for: key)
            case .anomaly(let anomaly):
                sink.report(.anomaly(anomaly), for: key)
            case .ppp(let event):
                // A server's control plane has no use for echo round trips, and each event costs a hop to
                // its thread (a lock, a task, an eventfd write): with 100 000 sessions echoed every 30 s,
                // 3 300 a second for nothing.
                if mode == .server, case .echoReply = event { continue }
                switch event {
                case .networkUp(let settings):
                    if mode == .server {
                        _ = withSlot(key) { $0.clientAddress = settings.peerAddress }
                        byClientAddress[settings.peerAddress.rawValue] = key
                    }
                case .authenticated(let user, _):
                    _ = withSlot(key) { $0.user = user }
                default:
                    break
                }
                sink.report(.ppp(event), for: key)
                if case .down = event {
                    // PPP is over: the control plane clears the call; the slot goes now so no
                    // more data is accepted for it.
                    if let address = withSlot(key, { $0.clientAddress }) ?? nil,
                        byClientAddress[address.rawValue] == key
                    {
                        byClientAddress[address.rawValue] = nil
                    }
                    _ = withSlot(key) { $0.clientAddress = nil }
                }
            }
        }
    }
}

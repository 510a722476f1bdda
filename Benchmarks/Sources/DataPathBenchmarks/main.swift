// In-process data path benchmark (issue 8, benchmark 1): TunnelSession.send (PPP + MPPE + GRE header written into
// the headroom of the buffer) and TunnelSession.receiveGRE (GRE parse, sequencing, MPPE decryption, PPP) at 64-,
// 512- and 1400-byte IP packets on one core, against the per-packet work of the C reference data path
// (../shared/reference/pptp_toy.c, rewritten in Sources/COpenSSLShim/reference_datapath.c) in the same run.
//
//   swift run -c release --package-path Benchmarks DataPathBenchmarks [runs] [--quick] [--only VARIANT]
//
// VARIANT (for profiling one variant under perf): stateless, stateful, none or nowindow.
//
// The client and server sessions are brought up by a real in-memory negotiation (LCP, MS-CHAPv2 checked by
// CredentialVerifier, CCP/MPPE, IPCP), then the client encapsulates and the server decapsulates the same packets,
// in batches of 16; the server's acknowledgment-only packets (one per `ackThreshold` packets, 16 by default) go back
// to the client, so sequence numbers, acknowledgments and the peer window (64, pptpd's, respected as by default,
// RFC 2637 §4.2) behave as on a real
// one-way flow. Encapsulation time includes the client's processing of those acknowledgments; decapsulation time
// includes the server's building of them. It prints Markdown: ns/packet and packets/s per direction (median of
// `runs`, at least 5, with min and max), ratios to the C reference, and heap allocations per packet in steady state.
//
// It also runs the stateless flow with both sessions held the way the data plane holds them (SessionTable's
// dictionary of slots and its per-packet accesses, reproduced here since PPTPNetwork is not a library product) and
// in alternatives, as ratios to the sessions held directly, and times the next-deadline query the data plane makes
// after every packet.
import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

// MARK: - Arguments

let arguments = CommandLine.arguments.dropFirst()
let quick = arguments.contains("--quick")
let runs = max(arguments.compactMap { Int($0) }.first ?? (quick ? 5 : 7), 5)
let only: String? = arguments.firstIndex(of: "--only").flatMap { arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil }
let sizes = [64, 512, 1400]
/// Packets per measurement (a multiple of the batch); about 30–120 ms each.
let packetsPerMeasurement = quick ? 4096 : 16384
let batch = 16
let slotSize = 2048
/// Virtual time between two packets (1 µs: about 11 Gbit/s at 1400 bytes, so timers never fire mid-measurement
/// except the ones a real flow would fire).
let packetInterval = TimeAmount.microseconds(1)

// MARK: - Negotiation in memory


/// The data path variants measured.
enum Variant: String, CaseIterable {
    /// The variants selected on the command line (all by default).
    static var selected: [Variant] { allCases.filter { only == nil || $0.shortName == only } }

    case stateless = "MPPE-128 stateless"
    case stateful = "MPPE-128 stateful"
    case none = "no MPPE"
    /// Stateless MPPE with `respectPeerWindow: false` on both ends: the cost of the window bookkeeping.
    case statelessNoWindow = "MPPE-128 stateless, peer window ignored"

    var shortName: String {
        switch self {
        case .stateless: "stateless"
        case .stateful: "stateful"
        case .none: "none"
        case .statelessNoWindow: "nowindow"
        }
    }

    var policy: PPPPolicy {
        switch self {
        case .stateless, .statelessNoWindow: return .default
        case .stateful:
            return PPPPolicy(encryption: EncryptionPolicy(required: true, strengths: [.bits128], preferStateful: true))
        case .none: return PPPPolicy(encryption: .none)
        }
    }

    var expectedMode: MPPEMode? {
        switch self {
        case .stateless, .statelessNoWindow: return .stateless
        case .stateful: return .stateful
        case .none: return nil
        }
    }

    /// The C reference configuration doing the same work (pptp_toy.c `-s -C ossl`, `-C ossl`, `-C none`).
    var reference: (impl: Int32, stateless: Int32, options: String)? {
        switch self {
        case .stateless: return (Int32(BENCH_OPENSSL), 1, "-s -C ossl")
        case .stateful: return (Int32(BENCH_OPENSSL), 0, "-C ossl")
        case .none: return (Int32(BENCH_NO_CRYPTO), 0, "-C none")
        case .statelessNoWindow: return nil
        }
    }
}

/// A client (PNS) and a server (PAC) TunnelSession joined in memory.
struct Link {
    var client: TunnelSession
    var server: TunnelSession
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var toServer: [[UInt8]] = []
    var toClient: [[UInt8]] = []
    var down: [String] = []
    static let password = "Bench-Secret-1"

    init(_ variant: Variant) {
        let gre = GRESequencerConfiguration(respectPeerWindow: variant != .statelessNoWindow)
        let clientCall = CallInformation(callID: 0x1111, peerCallID: 0x2222, direction: .outgoing, peerWindow: 64)
        let serverCall = CallInformation(callID: 0x2222, peerCallID: 0x1111, direction: .outgoing, peerWindow: 64)
        client = TunnelSession(
            call: clientCall, gre: gre,
            ppp: PPPSessionConfiguration(
                role: .client, policy: variant.policy,
                credentials: ClientCredentials(userName: "bench", password: Self.password),
                ipcp: .requesting(preferred: .unspecified, requestDNS: false)),
            random: SplitMix64(seed: 1))
        server = TunnelSession(
            call: serverCall, gre: gre,
            ppp: PPPSessionConfiguration(
                role: .server, policy: variant.policy, name: "bench",
                ipcp: .assigning(local: IPv4Address(192, 0, 2, 1), peer: IPv4Address(192, 0, 2, 10), dns: [], nbns: [])),
            random: SplitMix64(seed: 2))
    }

    mutating func apply(_ actions: [TunnelAction], fromClient: Bool) {
        for action in actions {
            switch action {
            case .sendGRE(let packet):
                let bytes = Array(packet.readableBytesView)
                if fromClient { toServer.append(bytes) } else { toClient.append(bytes) }
            case .deliver:
                break
            case .verify(let request):
                let verdict = CredentialVerifier.verify(request, secret: .password(Self.password)).verdict
                apply(server.receive(verdict: verdict, now: now), fromClient: false)
            case .ppp(.down(let reason)):
                down.append("\(fromClient ? "client" : "server"): \(reason)")
            case .ppp, .anomaly:
                break
            }
        }
    }

    /// Delivers queued GRE packets and runs due timers until both queues are empty.
    mutating func pump() {
        while !toServer.isEmpty || !toClient.isEmpty {
            if !toServer.isEmpty {
                var bytes = toServer.removeFirst()
                let now = self.now
                let actions = bytes.withUnsafeMutableBytes { server.receiveGRE($0, now: now).actions }
                apply(actions, fromClient: false)
            } else {
                var bytes = toClient.removeFirst()
                let now = self.now
                let actions = bytes.withUnsafeMutableBytes { client.receiveGRE($0, now: now).actions }
                apply(actions, fromClient: true)
            }
        }
    }

    mutating func runTimers() {
        if let deadline = client.nextDeadline, deadline <= now { apply(client.timeout(now: now), fromClient: true) }
        if let deadline = server.nextDeadline, deadline <= now { apply(server.timeout(now: now), fromClient: false) }
        pump()
    }

    /// Brings the link up: LCP, MS-CHAPv2, CCP, IPCP, as over GRE.
    mutating func negotiate(_ variant: Variant) {
        apply(client.start(now: now), fromClient: true)
        apply(server.start(now: now), fromClient: false)
        for _ in 0..<1000 {
            pump()
            if client.ppp.isNetworkUp && server.ppp.isNetworkUp { break }
            guard let next = [client.nextDeadline, server.nextDeadline].compactMap({ $0 }).min() else { break }
            if next > now { now = next }
            runTimers()
        }
        precondition(down.isEmpty, "\(variant.rawValue): the link went down during negotiation: \(down)")
        precondition(client.ppp.isNetworkUp && server.ppp.isNetworkUp, "\(variant.rawValue): negotiation did not finish")
        let modes = (client.ppp.dataPath.encryptor?.mode, server.ppp.dataPath.encryptor?.mode)
        precondition(
            modes.0 == variant.expectedMode && modes.1 == variant.expectedMode,
            "\(variant.rawValue): negotiated MPPE \(String(describing: modes)), expected \(String(describing: variant.expectedMode))")
        if variant.expectedMode != nil {
            precondition(client.ppp.dataPath.encryptor?.strength == .bits128, "\(variant.rawValue): not 128-bit")
        }
    }
}

// MARK: - Buffers and packets

/// `batch` slots of `slotSize` octets, page-aligned, allocated once.
struct Slots {
    let memory: UnsafeMutableRawBufferPointer
    init() {
        memory = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * slotSize, alignment: 4096)
        memory.initializeMemory(as: UInt8.self, repeating: 0)
    }
    func slot(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: memory[(index * slotSize)..<((index + 1) * slotSize)])
    }
}

/// A plausible IPv4/UDP packet of `size` octets from the client's tunnel address to the server's.
func ipPacket(size: Int, seed: Int) -> [UInt8] {
    var bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    let header: [UInt8] = [
        0x45, 0, UInt8(size >> 8), UInt8(size & 0xFF), 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 10, 192, 0, 2, 1,
    ]
    for (index, byte) in header.enumerated() where index < size { bytes[index] = byte }
    // A correct header checksum: the receiver checks it on every decrypted packet (PPPDataPath.isPlausiblePlaintext).
    if size >= 20 {
        let sum = bytes.withUnsafeBytes { IPv4Packet.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<20])) }
        bytes[10] = UInt8(sum >> 8)
        bytes[11] = UInt8(sum & 0xFF)
    }
    return bytes
}

/// Keeps the optimiser from discarding work.
@inline(never)
func blackHole(_ value: Int) {
    sink &+= value
}
nonisolated(unsafe) var sink = 0

@inline(__always)
func timestamp() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// Nanoseconds and allocations spent in each direction over some packets.
struct Sample {
    var encapsulateNanoseconds: UInt64 = 0
    var decapsulateNanoseconds: UInt64 = 0
    var encapsulateAllocations = 0
    var decapsulateAllocations = 0
    var packets = 0
    /// Octets the data path put in front of the IP packet (GRE + PPP + MPPE headers), last packet.
    var headerOctets = 0

    var encapsulate: Double { Double(encapsulateNanoseconds) / Double(packets) }
    var decapsulate: Double { Double(decapsulateNanoseconds) / Double(packets) }
}


// MARK: - Shells: how the data plane holds the sessions

/// What a server shell's receive gives back: the packet found in place, the actions, and the acknowledgment-only
/// packet due, if any (deferred, as the data plane's `SessionTable` takes it, to write it into its send batch).
typealias Received = (packet: TunnelPacket?, actions: [TunnelAction], acknowledgment: GREHeader?)

/// `TunnelSession.receiveGRE` as `SessionTable` calls it: the acknowledgment deferred and taken at once, with no
/// allocation.
func receiveDeferred(_ tunnel: inout TunnelSession, _ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received {
    let (found, actions) = tunnel.receiveGRE(packet, now: now, deferAcknowledgment: true)
    return (found, actions, tunnel.takeDueAcknowledgment().map { tunnel.acknowledgmentHeader($0) })
}

/// What the measurement loop needs of whoever holds the client and server sessions: `Link` holds them directly;
/// the table shells hold them the way the data plane's `SessionTable` does (or could).
protocol Shell {
    var now: NIODeadline { get set }
    /// An acknowledgment (or other GRE packet) for the client; returns the number of actions.
    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int
    mutating func clientSend(_ buffer: UnsafeMutableRawBufferPointer, payload: Range<Int>, now: NIODeadline) -> Result<Range<Int>, PPPDropReason>
    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received
    /// Between batches, untimed: timers.
    mutating func afterBatch()
}

extension Link: Shell {
    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int {
        client.receiveGRE(packet, now: now).actions.count
    }
    mutating func clientSend(_ buffer: UnsafeMutableRawBufferPointer, payload: Range<Int>, now: NIODeadline) -> Result<Range<Int>, PPPDropReason> {
        client.send(.ipv4, in: buffer, payload: payload, now: now)
    }
    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received {
        receiveDeferred(&server, packet, now: now)
    }
    mutating func afterBatch() {
        runTimers()
        precondition(down.isEmpty, "the link went down: \(down)")
    }
}

/// SessionTable's key and slot (PPTPNetwork is not a library product, so its storage pattern is reproduced here
/// as of commit 276c880: Sources/PPTPNetwork/DataPlane/SessionTable.swift).
struct TableKey: Hashable {
    var peer: UInt32
    var callID: UInt16
}
struct TableSlot {
    var tunnel: TunnelSession
    var clientAddress: IPv4Address?
    var deadline: NIODeadline?
    var user: String?
    mutating func run<T>(_ body: (inout TunnelSession) -> T) -> T { body(&tunnel) }
    mutating func withSlot<T>(_ body: (inout TableSlot) -> T) -> T { body(&self) }
    mutating func updateDeadline() -> (changed: Bool, deadline: NIODeadline?) {
        let next = tunnel.nextDeadline
        guard next != deadline else { return (false, next) }
        deadline = next
        return (true, next)
    }
}

/// How the shells store slots.
enum TableStorage: String, CaseIterable {
    /// `[SessionKey: Slot]`, accessed as SessionTable does per packet: `slots[key]?.run { … }`, then
    /// `slots[key]?.clientAddress` (server), then `reschedule(key)` = `slots[key]?.updateDeadline()`.
    case dictionary = "`[SessionKey: Slot]`, three `slots[key]?` accesses: `.run`, `.clientAddress`, `.updateDeadline()` (SessionTable before 55b3d2f)"
    /// The same dictionary, with one access per packet: the slot's fields are read and its deadline updated
    /// inside the one `slots[key]?.run { … }` that runs the tunnel.
    case dictionaryOneAccess = "`[SessionKey: Slot]`, one `slots[key]?` access doing all three"
    /// The same dictionary and the same three accesses, each through `slots.values[slots.index(forKey: key)]`,
    /// whose modify accessor yields the element where it lies (SessionTable.withSlot since this benchmark).
    case dictionaryValues = "`[SessionKey: Slot]`, the three accesses through `slots.values[slots.index(forKey:)]` (SessionTable.withSlot)"
    /// Slots in an array, a dictionary from key to index, one in-place access per packet (`storage[i].withSlot`).
    case array = "slots in an array, `[SessionKey: Int]` index, one in-place access doing all three"
    /// The same, without asking the session for its next deadline after every packet.
    case arrayNoDeadline = "the same without the per-packet `nextDeadline` (`updateDeadline`)"
}

/// Both sessions held in tables as the data plane holds them (the client's table in client mode, the server's in
/// server mode), with SessionTable's per-packet accesses.
struct TableShell: Shell {
    let storage: TableStorage
    var now: NIODeadline
    var clientSlots: [TableKey: TableSlot] = [:]
    var serverSlots: [TableKey: TableSlot] = [:]
    var clientArray: [TableSlot] = []
    var serverArray: [TableSlot] = []
    var clientIndex: [TableKey: Int] = [:]
    var serverIndex: [TableKey: Int] = [:]
    /// Deadline changes pushed on the timer heap (SessionTable pushes on a change).
    var timerPushes = 0
    let clientKey = TableKey(peer: 0xCB00_7101, callID: 0x1111)
    let serverKey = TableKey(peer: 0xCB00_7102, callID: 0x2222)
    static let clientAddress = IPv4Address(192, 0, 2, 10)

    init(_ storage: TableStorage, link: consuming Link) {
        self.storage = storage
        self.now = link.now
        let client = TableSlot(tunnel: link.client)
        let server = TableSlot(tunnel: link.server, clientAddress: Self.clientAddress)
        switch storage {
        case .dictionary, .dictionaryOneAccess, .dictionaryValues:
            clientSlots[clientKey] = client
            serverSlots[serverKey] = server
        case .array, .arrayNoDeadline:
            clientArray = [client]
            serverArray = [server]
            clientIndex[clientKey] = 0
            serverIndex[serverKey] = 0
        }
    }

    /// SessionTable.receiveGRE's demultiplexing: the Call ID from octets 6–7 of the GRE header.
    @inline(__always)
    static func key(peer: UInt32, _ packet: UnsafeMutableRawBufferPointer) -> TableKey {
        TableKey(peer: peer, callID: UInt16(packet[6]) << 8 | UInt16(packet[7]))
    }

    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int {
        let key = Self.key(peer: clientKey.peer, packet)
        switch storage {
        case .dictionary:
            guard let (_, actions) = clientSlots[key]?.run({ $0.receiveGRE(packet, now: now) }) else { fatalError("key") }
            if let update = clientSlots[key]?.updateDeadline(), update.changed { timerPushes &+= 1 }
            return actions.count
        case .dictionaryOneAccess:
            guard let (count, changed) = clientSlots[key]?.withSlot({ slot in
                (slot.tunnel.receiveGRE(packet, now: now).actions.count, slot.updateDeadline().changed)
            }) else { fatalError("key") }
            if changed { timerPushes &+= 1 }
            return count
        case .dictionaryValues:
            guard let (_, actions) = Self.withSlot(&clientSlots, key, { $0.tunnel.receiveGRE(packet, now: now) }) else { fatalError("key") }
            if let update = Self.withSlot(&clientSlots, key, { $0.updateDeadline() }), update.changed { timerPushes &+= 1 }
            return actions.count
        case .array, .arrayNoDeadline:
            guard let index = clientIndex[key] else { fatalError("key") }
            let withDeadline = storage == .array
            let (count, changed) = clientArray[index].withSlot { slot in
                (slot.tunnel.receiveGRE(packet, now: now).actions.count, withDeadline && slot.updateDeadline().changed)
            }
            if changed { timerPushes &+= 1 }
            return count
        }
    }

    mutating func clientSend(_ buffer: UnsafeMutableRawBufferPointer, payload: Range<Int>, now: NIODeadline) -> Result<Range<Int>, PPPDropReason> {
        switch storage {
        case .dictionary:
            // SessionTable.receiveTUN in client mode: every packet goes to the only session.
            guard let key = clientSlots.keys.first,
                let result = clientSlots[key]?.run({ $0.send(.ipv4, in: buffer, payload: payload, now: now) })
            else { fatalError("key") }
            if let update = clientSlots[key]?.updateDeadline(), update.changed { timerPushes &+= 1 }
            return result
        case .dictionaryOneAccess:
            guard let key = clientSlots.keys.first,
                let (result, changed) = clientSlots[key]?.withSlot({ slot in
                    (slot.tunnel.send(.ipv4, in: buffer, payload: payload, now: now), slot.updateDeadline().changed)
                })
            else { fatalError("key") }
            if changed { timerPushes &+= 1 }
            return result
        case .dictionaryValues:
            guard let key = clientSlots.keys.first,
                let result = Self.withSlot(&clientSlots, key, { $0.tunnel.send(.ipv4, in: buffer, payload: payload, now: now) })
            else { fatalError("key") }
            if let update = Self.withSlot(&clientSlots, key, { $0.updateDeadline() }), update.changed { timerPushes &+= 1 }
            return result
        case .array, .arrayNoDeadline:
            let withDeadline = storage == .array
            let (result, changed) = clientArray[0].withSlot { slot in
                (slot.tunnel.send(.ipv4, in: buffer, payload: payload, now: now), withDeadline && slot.updateDeadline().changed)
            }
            if changed { timerPushes &+= 1 }
            return result
        }
    }

    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received {
        let key = Self.key(peer: serverKey.peer, packet)
        switch storage {
        case .dictionary:
            guard let result = serverSlots[key]?.run({ receiveDeferred(&$0, packet, now: now) }) else { fatalError("key") }
            let clientAddress = serverSlots[key]?.clientAddress  // SessionTable reads it for the anti-spoofing check
            blackHole(Int(clientAddress?.rawValue ?? 0))
            if let update = serverSlots[key]?.updateDeadline(), update.changed { timerPushes &+= 1 }
            return result
        case .dictionaryOneAccess:
            guard let (result, address, changed) = serverSlots[key]?.withSlot({ slot in
                (receiveDeferred(&slot.tunnel, packet, now: now), slot.clientAddress, slot.updateDeadline().changed)
            }) else { fatalError("key") }
            blackHole(Int(address?.rawValue ?? 0))
            if changed { timerPushes &+= 1 }
            return result
        case .dictionaryValues:
            guard let result = Self.withSlot(&serverSlots, key, { receiveDeferred(&$0.tunnel, packet, now: now) }) else { fatalError("key") }
            let clientAddress = Self.withSlot(&serverSlots, key, { $0.clientAddress }) ?? nil
            blackHole(Int(clientAddress?.rawValue ?? 0))
            if let update = Self.withSlot(&serverSlots, key, { $0.updateDeadline() }), update.changed { timerPushes &+= 1 }
            return result
        case .array, .arrayNoDeadline:
            guard let index = serverIndex[key] else { fatalError("key") }
            let withDeadline = storage == .array
            let (result, address, changed) = serverArray[index].withSlot { slot in
                (receiveDeferred(&slot.tunnel, packet, now: now), slot.clientAddress, withDeadline && slot.updateDeadline().changed)
            }
            blackHole(Int(address?.rawValue ?? 0))
            if changed { timerPushes &+= 1 }
            return result
        }
    }

    mutating func afterBatch() {}

    /// SessionTable.withSlot: the slot in place through `values[index]`.
    @inline(__always)
    static func withSlot<T>(_ slots: inout [TableKey: TableSlot], _ key: TableKey, _ body: (inout TableSlot) -> T) -> T? {
        guard let index = slots.index(forKey: key) else { return nil }
        return body(&slots.values[index])
    }
}

/// Runs `packets` packets of `size` octets from the client to the server of `link`. Acknowledgment-only packets
/// from the server are copied into a fixed buffer (as the data plane copies into its send batch) and given to the
/// client at the start of the next encapsulation batch.
func measureOurs<S: Shell>(_ link: inout S, slots: Slots, size: Int, packets: Int, verify: Bool = false) -> Sample {
    let template = ipPacket(size: size, seed: size)
    let headroom = TunnelSession.headroom
    var ranges = [Range<Int>](repeating: 0..<0, count: batch)
    let ackStorage = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 32, alignment: 16)
    defer { ackStorage.deallocate() }
    var ackLengths = [Int](repeating: 0, count: 64)
    var ackCount = 0
    var sample = Sample()
    var now = link.now
    var sent = 0
    while sent < packets {
        // Refill the slots with the IP packet, as a TUN read would (not timed).
        for index in 0..<batch {
            let slot = slots.slot(index)
            template.withUnsafeBytes { slot.baseAddress!.advanced(by: headroom).copyMemory(from: $0.baseAddress!, byteCount: size) }
        }
        // Encapsulate (client), after the acknowledgments that came back.
        let a0 = bench_allocation_count()
        let t0 = timestamp()
        for index in 0..<ackCount {
            let packet = UnsafeMutableRawBufferPointer(rebasing: ackStorage[(index * 32)..<(index * 32 + ackLengths[index])])
            blackHole(link.clientReceive(packet, now: now))
        }
        ackCount = 0
        for index in 0..<batch {
            let result = link.clientSend(slots.slot(index), payload: headroom..<(headroom + size), now: now)
            switch result {
            case .success(let range): ranges[index] = range
            case .failure(let reason): fatalError("client dropped a packet: \(reason)")
            }
            now = now + packetInterval
        }
        let t1 = timestamp()
        let a1 = bench_allocation_count()
        // Decapsulate (server).
        for index in 0..<batch {
            let packet = UnsafeMutableRawBufferPointer(rebasing: slots.slot(index)[ranges[index]])
            let (found, actions, acknowledgment) = link.serverReceive(packet, now: now)
            guard case .ipv4(let range) = found, range.count == size else {
                fatalError("server did not deliver packet \(sent + index): \(String(describing: found)) \(actions)")
            }
            if let acknowledgment, ackCount < 64 {
                let slot = UnsafeMutableRawBufferPointer(rebasing: ackStorage[(ackCount * 32)..<(ackCount * 32 + 32)])
                ackLengths[ackCount] = acknowledgment.write(to: slot)
                ackCount += 1
            }
            for action in actions {
                if case .sendGRE(let ack) = action, ackCount < 64, ack.readableBytes <= 32 {
                    ack.withUnsafeReadableBytes { bytes in
                        ackStorage.baseAddress!.advanced(by: ackCount * 32).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    }
                    ackLengths[ackCount] = ack.readableBytes
                    ackCount += 1
                }
            }
        }
        let t2 = timestamp()
        let a2 = bench_allocation_count()
        if verify {
            for index in 0..<batch {
                let packet = slots.slot(index)[ranges[index]]
                let delivered = Array(packet.suffix(size))
                precondition(delivered == template, "packet \(sent + index) of \(size) octets arrived altered")
            }
        }
        sample.encapsulateNanoseconds += t1 - t0
        sample.decapsulateNanoseconds += t2 - t1
        sample.encapsulateAllocations += a1 - a0
        sample.decapsulateAllocations += a2 - a1
        sample.headerOctets = ranges[batch - 1].count - size
        sent += batch
        // Timers that fell due (not timed): the shell runs them once per wake-up.
        link.now = now
        link.afterBatch()
    }
    sample.packets = sent
    // Hand back any acknowledgment still pending, so the next measurement starts with an open window.
    for index in 0..<ackCount {
        let packet = UnsafeMutableRawBufferPointer(rebasing: ackStorage[(index * 32)..<(index * 32 + ackLengths[index])])
        _ = link.clientReceive(packet, now: now)
    }
    return sample
}

/// The same flow through the C reference: endpoint "a" encapsulates, endpoint "b" decapsulates.
func measureReference(_ sender: OpaquePointer, _ receiver: OpaquePointer, slots: Slots, size: Int, packets: Int, verify: Bool = false) -> Sample {
    let template = ipPacket(size: size, seed: size)
    let headroom = Int(BENCH_REFERENCE_HEADROOM)
    var lengths = [Int](repeating: 0, count: batch)
    var sample = Sample()
    var sent = 0
    let droppedBefore = bench_reference_dropped(receiver)
    while sent < packets {
        for index in 0..<batch {
            let slot = slots.slot(index)
            template.withUnsafeBytes { slot.baseAddress!.advanced(by: headroom).copyMemory(from: $0.baseAddress!, byteCount: size) }
        }
        let a0 = bench_allocation_count()
        let t0 = timestamp()
        for index in 0..<batch {
            lengths[index] = bench_reference_encapsulate(sender, slots.slot(index).baseAddress!.assumingMemoryBound(to: UInt8.self), size)
        }
        let t1 = timestamp()
        let a1 = bench_allocation_count()
        var outLength = 0
        for index in 0..<batch {
            let base = slots.slot(index).baseAddress!.assumingMemoryBound(to: UInt8.self)
            let offset = bench_reference_decapsulate(receiver, base, lengths[index], &outLength)
            blackHole(offset)
            if verify {
                precondition(offset >= 0 && outLength == size, "C reference dropped packet \(sent + index)")
                let delivered = Array(UnsafeRawBufferPointer(start: base.advanced(by: offset), count: outLength))
                precondition(delivered == template, "C reference packet \(sent + index) arrived altered")
            }
        }
        let t2 = timestamp()
        let a2 = bench_allocation_count()
        sample.encapsulateNanoseconds += t1 - t0
        sample.decapsulateNanoseconds += t2 - t1
        sample.encapsulateAllocations += a1 - a0
        sample.decapsulateAllocations += a2 - a1
        sample.headerOctets = lengths[batch - 1] - size
        sent += batch
    }
    precondition(bench_reference_dropped(receiver) == droppedBefore, "the C reference dropped packets")
    sample.packets = sent
    return sample
}

// MARK: - Statistics and formatting

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double, _ digits: Int = 0) -> String {
    guard value.isFinite else { return "–" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = digits == 0 ? String(Int(rounded)) : String(rounded)
    if digits > 0, let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        text += String(repeating: "0", count: max(0, digits - decimals))
    }
    return text
}

func summary(_ values: [Double], _ digits: Int = 0) -> String {
    "\(format(median(values), digits)) [\(format(values.min() ?? .nan, digits))–\(format(values.max() ?? .nan, digits))]"
}

/// Packets per second in thousands or millions, from ns/packet.
func rate(_ nanoseconds: Double) -> String {
    let perSecond = 1e9 / nanoseconds
    return perSecond >= 1e6 ? "\(format(perSecond / 1e6, 2)) M" : "\(format(perSecond / 1e3, 0)) k"
}

// MARK: - Main

let slots = Slots()
var links: [Variant: Link] = [:]
var references: [Variant: (OpaquePointer, OpaquePointer)] = [:]
for variant in Variant.selected {
    var link = Link(variant)
    link.negotiate(variant)
    // Check every size end to end before measuring, and warm up.
    for size in sizes { _ = measureOurs(&link, slots: slots, size: size, packets: 256, verify: true) }
    links[variant] = link
    if let configuration = variant.reference {
        guard let sender = bench_reference_new(configuration.impl, configuration.stateless, 1),
            let receiver = bench_reference_new(configuration.impl, configuration.stateless, 0)
        else { fatalError("bench_reference_new") }
        for size in sizes { _ = measureReference(sender, receiver, slots: slots, size: size, packets: 256, verify: true) }
        references[variant] = (sender, receiver)
    }
}
print("Agreement: for every variant and size, 256 packets went client → server intact through TunnelSession (and through the C reference).\n")

struct Key: Hashable {
    var variant: Variant
    var size: Int
}
var ours: [Key: [Sample]] = [:]
var theirs: [Key: [Sample]] = [:]
var ratioEncapsulate: [Key: [Double]] = [:]
var ratioDecapsulate: [Key: [Double]] = [:]
for run in 0..<runs {
    for variant in Variant.selected {
        for size in sizes {
            let key = Key(variant: variant, size: size)
            var link = links.removeValue(forKey: variant)!  // not copied: its buffers stay uniquely referenced
            var mine = Sample()
            var reference: Sample?
            // Alternate the order so neither side always runs first.
            if run % 2 == 1, let (sender, receiver) = references[variant] {
                reference = measureReference(sender, receiver, slots: slots, size: size, packets: packetsPerMeasurement)
            }
            mine = measureOurs(&link, slots: slots, size: size, packets: packetsPerMeasurement)
            if run % 2 == 0, let (sender, receiver) = references[variant] {
                reference = measureReference(sender, receiver, slots: slots, size: size, packets: packetsPerMeasurement)
            }
            links[variant] = link
            ours[key, default: []].append(mine)
            if let reference {
                theirs[key, default: []].append(reference)
                ratioEncapsulate[key, default: []].append(reference.encapsulate / mine.encapsulate)
                ratioDecapsulate[key, default: []].append(reference.decapsulate / mine.decapsulate)
            }
        }
    }
}

print("Runs: \(runs), \(packetsPerMeasurement) packets per measurement, batches of \(batch); median [min–max].")
print("Ratio = C reference ns ÷ our ns, per run (> 1: we are faster). Packets/s = 1 / median ns, one core, one direction.\n")
print("| variant | IP packet | direction | ours (ns/packet) | ours (packets/s) | C reference (ns/packet) | ours ÷ C reference | header octets ours / C |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for variant in Variant.selected {
    for size in sizes {
        let key = Key(variant: variant, size: size)
        let mine = ours[key] ?? []
        let reference = theirs[key] ?? []
        for (direction, ourValues, referenceValues, ratios) in [
            ("encapsulate", mine.map(\.encapsulate), reference.map(\.encapsulate), ratioEncapsulate[key] ?? []),
            ("decapsulate", mine.map(\.decapsulate), reference.map(\.decapsulate), ratioDecapsulate[key] ?? []),
        ] {
            let header = "\(mine.last?.headerOctets ?? 0) / " + (reference.last.map { "\($0.headerOctets)" } ?? "–")
            let cells = [
                variant.rawValue, "\(size) B", direction, summary(ourValues), rate(median(ourValues)),
                referenceValues.isEmpty ? "–" : summary(referenceValues),
                ratios.isEmpty ? "–" : "**\(format(median(ratios), 2))** [\(format(ratios.min() ?? .nan, 2))–\(format(ratios.max() ?? .nan, 2))]",
                header,
            ]
            print("| " + cells.joined(separator: " | ") + " |")
        }
    }
}

// Goal of issue 8: ≤ 1.5 µs per 1400-byte packet per direction with MPPE-128 stateless.
let goalKey = Key(variant: .stateless, size: 1400)
let goalEncapsulate = median((ours[goalKey] ?? []).map(\.encapsulate))
let goalDecapsulate = median((ours[goalKey] ?? []).map(\.decapsulate))
print(
    "\nGoal (≤ 1500 ns per 1400-byte packet per direction, MPPE-128 stateless): encapsulate \(format(goalEncapsulate)) ns, "
        + "decapsulate \(format(goalDecapsulate)) ns: "
        + (max(goalEncapsulate, goalDecapsulate) <= 1500 ? "met." : "not met.")
)

// MARK: Through the data plane's session storage

/// A stateless MPPE-128 pair held the way SessionTable holds sessions, from a fresh negotiation (so that no buffer
/// is shared with another copy and the first packets do not copy on write).
func makeTableShell(_ storage: TableStorage, slots: Slots) -> TableShell {
    var link = Link(.stateless)
    link.negotiate(.stateless)
    var shell = TableShell(storage, link: link)
    for size in sizes { _ = measureOurs(&shell, slots: slots, size: size, packets: 256, verify: true) }
    return shell
}

var shells = TableStorage.allCases.map { makeTableShell($0, slots: slots) }
var tableResults: [TableStorage: [Int: [Sample]]] = [:]
var tableRatios: [TableStorage: [Int: (encapsulate: [Double], decapsulate: [Double])]] = [:]
if Variant.selected.contains(.stateless) {
    for _ in 0..<runs {
        for size in [64, 1400] {
            var direct = links.removeValue(forKey: .stateless)!
            let reference = measureOurs(&direct, slots: slots, size: size, packets: packetsPerMeasurement)
            links[.stateless] = direct
            for index in shells.indices {
                let sample = measureOurs(&shells[index], slots: slots, size: size, packets: packetsPerMeasurement)
                let storage = shells[index].storage
                tableResults[storage, default: [:]][size, default: []].append(sample)
                var ratios = tableRatios[storage, default: [:]][size] ?? ([], [])
                ratios.encapsulate.append(sample.encapsulate / reference.encapsulate)
                ratios.decapsulate.append(sample.decapsulate / reference.decapsulate)
                tableRatios[storage, default: [:]][size] = ratios
            }
        }
    }
    print("\nThe same flow (MPPE-128 stateless) with both sessions held as the data plane holds them (one session per table;")
    print("PPTPNetwork's SessionTable is not a library product, so its storage and per-packet accesses are reproduced):\n")
    print("| storage and per-packet accesses | IP packet | encapsulate (ns/packet) | ÷ direct | decapsulate (ns/packet) | ÷ direct | allocations per packet (encapsulate / decapsulate) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for storage in TableStorage.allCases {
        for size in [64, 1400] {
            let samples = tableResults[storage]?[size] ?? []
            let ratios = tableRatios[storage]?[size] ?? ([], [])
            let packets = Double(samples.reduce(0) { $0 + $1.packets })
            let allocations = (
                Double(samples.reduce(0) { $0 + $1.encapsulateAllocations }) / packets,
                Double(samples.reduce(0) { $0 + $1.decapsulateAllocations }) / packets
            )
            print(
                "| \(storage.rawValue) | \(size) B | \(summary(samples.map(\.encapsulate))) | "
                    + "\(format(median(ratios.encapsulate), 2)) [\(format(ratios.encapsulate.min() ?? .nan, 2))–\(format(ratios.encapsulate.max() ?? .nan, 2))] | "
                    + "\(summary(samples.map(\.decapsulate))) | "
                    + "\(format(median(ratios.decapsulate), 2)) [\(format(ratios.decapsulate.min() ?? .nan, 2))–\(format(ratios.decapsulate.max() ?? .nan, 2))] | "
                    + "\(format(allocations.0, 3)) / \(format(allocations.1, 3)) |")
        }
    }
    print("\n÷ direct: ns/packet through the table ÷ ns/packet with the sessions held directly, measured alternately in the same run (> 1: the storage costs that much more).")
}

// MARK: Allocations in steady state

// Sanity check that the interposer sees Swift allocations at all.
let probeBefore = bench_allocation_count()
let probe = [Int](repeating: 1, count: sink & 1 + 100)
blackHole(probe[0])
precondition(bench_allocation_count() > probeBefore, "malloc interposer is not active")

print("\nHeap allocations per packet in steady state (10 000 packets per line after the runs above, counted by the malloc")
print("interposer of the crypto benchmark around exactly the timed regions):\n")
print("| variant | IP packet | encapsulate (TunnelSession.send + acks received) | decapsulate (TunnelSession.receiveGRE + acks built) |")
print("|---|---:|---:|---:|")
for variant in Variant.selected {
    for size in sizes {
        var link = links.removeValue(forKey: variant)!  // not copied: its buffers stay uniquely referenced
        let sample = measureOurs(&link, slots: slots, size: size, packets: 10_000 / batch * batch)
        links[variant] = link
        let packets = Double(sample.packets)
        print(
            "| \(variant.rawValue) | \(size) B | \(format(Double(sample.encapsulateAllocations) / packets, 3)) | "
                + "\(format(Double(sample.decapsulateAllocations) / packets, 3)) |")
    }
}

// The data-plane shell (SessionTable.reschedule) asks every session for its next deadline after every packet, on
// the session in place (inout), as these functions do.
@inline(never)
func queryTunnel(_ tunnel: inout TunnelSession, _ calls: Int) -> Int {
    var found = 0
    for _ in 0..<calls where tunnel.nextDeadline != nil { found &+= 1 }
    return found
}
@inline(never)
func queryPPP(_ tunnel: inout TunnelSession, _ calls: Int) -> Int {
    var found = 0
    for _ in 0..<calls where tunnel.ppp.nextDeadline != nil { found &+= 1 }
    return found
}
@inline(never)
func querySequencer(_ tunnel: inout TunnelSession, _ calls: Int) -> Int {
    var found = 0
    for _ in 0..<calls where tunnel.sequencer.nextDeadline != nil { found &+= 1 }
    return found
}

if let variant = Variant.selected.first, var link = links.removeValue(forKey: variant) {
    let calls = 100_000
    print("\nNext-deadline queries on the server session (\(variant.rawValue)); SessionTable.reschedule asks after every packet:\n")
    print("| query | ns per call | heap allocations per call |")
    print("|---|---:|---:|")
    for (name, query) in [
        ("TunnelSession.nextDeadline", queryTunnel), ("PPPSession.nextDeadline", queryPPP),
        ("GRESequencer.nextDeadline", querySequencer),
    ] as [(String, (inout TunnelSession, Int) -> Int)] {
        _ = query(&link.server, 1000)
        let a0 = bench_allocation_count()
        let t0 = timestamp()
        blackHole(query(&link.server, calls))
        let t1 = timestamp()
        let a1 = bench_allocation_count()
        print("| \(name) | \(format(Double(t1 - t0) / Double(calls), 1)) | \(format(Double(a1 - a0) / Double(calls), 2)) |")
    }
    links[variant] = link
}

for (sender, receiver) in references.values {
    bench_reference_free(sender)
    bench_reference_free(receiver)
}

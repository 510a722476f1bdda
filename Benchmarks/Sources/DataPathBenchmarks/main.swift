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
// in batches of 16; the server's acknowledgment-only packets (one per 32 packets, half its window) go back to the
// client, so sequence numbers, acknowledgments and the peer window (respected, as by default) behave as on a real
// one-way flow. Encapsulation time includes the client's processing of those acknowledgments; decapsulation time
// includes the server's building of them. It prints Markdown: ns/packet and packets/s per direction (median of
// `runs`, at least 5, with min and max), ratios to the C reference, and heap allocations per packet in steady state.
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

struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

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
            random: SeededRandom(state: 1))
        server = TunnelSession(
            call: serverCall, gre: gre,
            ppp: PPPSessionConfiguration(
                role: .server, policy: variant.policy, name: "bench",
                ipcp: .assigning(local: IPv4Address(192, 0, 2, 1), peer: IPv4Address(192, 0, 2, 10), dns: [], nbns: [])),
            random: SeededRandom(state: 2))
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
            case .ppp:
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

/// Runs `packets` packets of `size` octets from the client to the server of `link`. Acknowledgment-only packets
/// from the server are copied into a fixed buffer (as the data plane copies into its send batch) and given to the
/// client at the start of the next encapsulation batch.
func measureOurs(_ link: inout Link, slots: Slots, size: Int, packets: Int, verify: Bool = false) -> Sample {
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
            let result = link.client.receiveGRE(packet, now: now)
            blackHole(result.actions.count)
        }
        ackCount = 0
        for index in 0..<batch {
            let result = link.client.send(.ipv4, in: slots.slot(index), payload: headroom..<(headroom + size), now: now)
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
            let (found, actions) = link.server.receiveGRE(packet, now: now)
            guard case .ipv4(let range) = found, range.count == size else {
                fatalError("server did not deliver packet \(sent + index): \(String(describing: found)) \(actions)")
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
        link.runTimers()
        precondition(link.down.isEmpty, "the link went down: \(link.down)")
    }
    sample.packets = sent
    // Hand back any acknowledgment still pending, so the next measurement starts with an open window.
    for index in 0..<ackCount {
        let packet = UnsafeMutableRawBufferPointer(rebasing: ackStorage[(index * 32)..<(index * 32 + ackLengths[index])])
        _ = link.client.receiveGRE(packet, now: now)
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

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
// Files: Settings (arguments), Link (the in-memory negotiation), Packets, Shells (how sessions are held), TableShell,
// Measurement (ours and the C reference), Statistics (medians, formatting), and this one, which runs them.
//
// It also runs the stateless flow through PPTPNetwork's SessionTable itself (TableShell.swift: the table's packet
// entry points with a sink in place of the socket and the TUN), as ratios to the sessions held directly, and times
// the next-deadline query the data plane makes after every packet.
import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

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
        for size in sizes {
            _ = measureReference(sender, receiver, slots: slots, size: size, packets: 256, verify: true)
        }
        references[variant] = (sender, receiver)
    }
}
print(
    "Agreement: for every variant and size, 256 packets went client → server intact through TunnelSession (and through the C reference).\n"
)

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
print(
    "Ratio = C reference ns ÷ our ns, per run (> 1: we are faster). Packets/s = 1 / median ns, one core, one direction.\n"
)
print(
    "| variant | IP packet | direction | ours (ns/packet) | ours (packets/s) | C reference (ns/packet) | ours ÷ C reference | header octets ours / C |"
)
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
                ratios.isEmpty
                    ? "–"
                    : "**\(format(median(ratios), 2))** [\(format(ratios.min() ?? .nan, 2))–\(format(ratios.max() ?? .nan, 2))]",
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

// MARK: Through the data plane's SessionTable

/// A stateless MPPE-128 pair in PPTPNetwork's SessionTables, from a fresh negotiation (so that no buffer is shared
/// with another copy and the first packets do not copy on write).
func makeTableShell(slots: Slots) -> TableShell {
    var shell = TableShell(link: Link(.stateless))
    for size in sizes { _ = measureOurs(&shell, slots: slots, size: size, packets: 256, verify: true) }
    return shell
}

if Variant.selected.contains(.stateless) {
    var shell = makeTableShell(slots: slots)
    var tableResults: [Int: [Sample]] = [:]
    var tableRatios: [Int: (encapsulate: [Double], decapsulate: [Double])] = [:]
    for _ in 0..<runs {
        for size in [64, 1400] {
            var direct = links.removeValue(forKey: .stateless)!
            let reference = measureOurs(&direct, slots: slots, size: size, packets: packetsPerMeasurement)
            links[.stateless] = direct
            let sample = measureOurs(&shell, slots: slots, size: size, packets: packetsPerMeasurement)
            tableResults[size, default: []].append(sample)
            var ratios = tableRatios[size] ?? ([], [])
            ratios.encapsulate.append(sample.encapsulate / reference.encapsulate)
            ratios.decapsulate.append(sample.decapsulate / reference.decapsulate)
            tableRatios[size] = ratios
        }
    }
    print(
        "\nThe same flow (MPPE-128 stateless) through PPTPNetwork's SessionTable, as the data-plane thread drives it"
    )
    print(
        "(`receiveTUN` on the client's table, `receiveGRE` on both, acknowledgments through the sink, deadlines rescheduled):\n"
    )
    print(
        "| IP packet | encapsulate (ns/packet) | ÷ direct | decapsulate (ns/packet) | ÷ direct | allocations per packet (encapsulate / decapsulate) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for size in [64, 1400] {
        let samples = tableResults[size] ?? []
        let ratios = tableRatios[size] ?? ([], [])
        let packets = Double(samples.reduce(0) { $0 + $1.packets })
        let allocations = (
            Double(samples.reduce(0) { $0 + $1.encapsulateAllocations }) / packets,
            Double(samples.reduce(0) { $0 + $1.decapsulateAllocations }) / packets
        )
        print(
            "| \(size) B | \(summary(samples.map(\.encapsulate))) | "
                + "\(format(median(ratios.encapsulate), 2)) [\(format(ratios.encapsulate.min() ?? .nan, 2))–\(format(ratios.encapsulate.max() ?? .nan, 2))] | "
                + "\(summary(samples.map(\.decapsulate))) | "
                + "\(format(median(ratios.decapsulate), 2)) [\(format(ratios.decapsulate.min() ?? .nan, 2))–\(format(ratios.decapsulate.max() ?? .nan, 2))] | "
                + "\(format(allocations.0, 3)) / \(format(allocations.1, 3)) |"
        )
    }
    print(
        "\n÷ direct: ns/packet through the tables ÷ ns/packet with the sessions held directly, measured alternately in the same run (> 1: the table costs that much more)."
    )
}

// MARK: Allocations in steady state

// Sanity check that the interposer sees Swift allocations at all.
let probeBefore = bench_allocation_count()
let probe = [Int](repeating: 1, count: sink & 1 + 100)
blackHole(probe[0])
precondition(bench_allocation_count() > probeBefore, "malloc interposer is not active")

print(
    "\nHeap allocations per packet in steady state (10 000 packets per line after the runs above, counted by the malloc"
)
print("interposer of the crypto benchmark around exactly the timed regions):\n")
print(
    "| variant | IP packet | encapsulate (TunnelSession.send + acks received) | decapsulate (TunnelSession.receiveGRE + acks built) |"
)
print("|---|---:|---:|---:|")
for variant in Variant.selected {
    for size in sizes {
        var link = links.removeValue(forKey: variant)!  // not copied: its buffers stay uniquely referenced
        let sample = measureOurs(&link, slots: slots, size: size, packets: 10_000 / batch * batch)
        links[variant] = link
        let packets = Double(sample.packets)
        print(
            "| \(variant.rawValue) | \(size) B | \(format(Double(sample.encapsulateAllocations) / packets, 3)) | "
                + "\(format(Double(sample.decapsulateAllocations) / packets, 3)) |"
        )
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
    print(
        "\nNext-deadline queries on the server session (\(variant.rawValue)); SessionTable.reschedule asks after every packet:\n"
    )
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
        print(
            "| \(name) | \(format(Double(t1 - t0) / Double(calls), 1)) | \(format(Double(a1 - a0) / Double(calls), 2)) |"
        )
    }
    links[variant] = link
}

for (sender, receiver) in references.values {
    bench_reference_free(sender)
    bench_reference_free(receiver)
}

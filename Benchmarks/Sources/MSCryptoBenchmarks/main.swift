// MSCrypto benchmarks: our RC4 and MPPE-128 against OpenSSL's libcrypto (and plain C) in the same run.
//
//   swift run -c release --package-path Benchmarks MSCryptoBenchmarks [runs]
//
// For 64-, 512- and 1400-byte packets it measures RC4 throughput (MB/s), MPPE-128 stateless encryption
// (key change + RC4, ns/packet) and MPPE-128 stateful encryption (ns/packet), each as the median of `runs`
// (default 7) runs with min and max, and prints our figures as ratios to OpenSSL's (> 1 means we are faster).
// It then counts heap allocations per packet in steady state through a malloc interposer (must be 0).
import COpenSSLShim
import MSCrypto

let arguments = CommandLine.arguments
let runs = arguments.count > 1 ? max(Int(arguments[1]) ?? 7, 5) : 7
let sizes = [64, 512, 1400]
let master: [UInt8] = (0..<16).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 7) }
let masterKey: MPPEMasterKey = {
    guard let key = try? MPPEMasterKey(bytes: master, strength: .bits128) else { fatalError("key") }
    return key
}()
/// RFC 3079 §3.3: the first session key, which pptp_toy.c's state is seeded with here so both agree.
let initialSession = masterKey.initialSessionKey
let clock = ContinuousClock()

/// Keeps the optimiser from discarding work whose result is otherwise unused.
@inline(never)
func blackHole(_ value: UInt8) {
    sink &+= value
}
nonisolated(unsafe) var sink: UInt8 = 0

func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
}

/// Time of `iterations` calls of `body`.
func time(_ iterations: Int, _ body: () -> Void) -> Double {
    let start = clock.now
    for _ in 0..<iterations {
        body()
    }
    return seconds(clock.now - start)
}

enum Implementation: String, CaseIterable {
    case swift = "MSCrypto"
    case openSSL = "OpenSSL"
    case plainC = "plain C"
}

enum Workload: String, CaseIterable {
    case rc4 = "RC4"
    case stateless = "MPPE-128 stateless"
    case stateful = "MPPE-128 stateful"

    /// Higher is better for MB/s, lower for ns/packet.
    var unit: String { self == .rc4 ? "MB/s" : "ns/packet" }

    /// Packets per measurement, about 20–60 ms each.
    func iterations(size: Int) -> Int {
        switch self {
        case .rc4: (48 << 20) / size
        case .stateless: 30_000
        case .stateful: (48 << 20) / size
        }
    }
}

/// One measurement: the figure in the workload's unit.
func measure(_ workload: Workload, _ implementation: Implementation, size: Int) -> Double {
    var buffer = [UInt8](repeating: 0x5A, count: size)
    let iterations = workload.iterations(size: size)
    let elapsed: Double
    switch (workload, implementation) {
    case (.rc4, .swift):
        guard var rc4 = RC4(key: master) else { fatalError("key") }
        elapsed = buffer.withUnsafeMutableBytes { raw in time(iterations) { rc4.process(raw) } }
    case (.rc4, .openSSL), (.rc4, .plainC):
        let rc4 = bench_rc4_new(implementation == .openSSL ? Int32(BENCH_OPENSSL) : Int32(BENCH_PLAIN_C), master, 16)
        defer { bench_rc4_free(rc4) }
        elapsed = buffer.withUnsafeMutableBufferPointer { pointer in
            time(iterations) { bench_rc4_process(rc4, pointer.baseAddress, size) }
        }
    case (.stateless, .swift), (.stateful, .swift):
        var encryptor = MPPEEncryptor(key: masterKey, mode: workload == .stateless ? .stateless : .stateful)
        var header = MPPEHeader(rawValue: 0)
        elapsed = buffer.withUnsafeMutableBytes { raw in time(iterations) { header = encryptor.encrypt(raw) } }
        blackHole(UInt8(truncatingIfNeeded: header.rawValue))
    case (.stateless, _), (.stateful, _):
        let mppe = bench_mppe_new(
            implementation == .openSSL ? Int32(BENCH_OPENSSL) : Int32(BENCH_PLAIN_C),
            master,
            initialSession
        )
        defer { bench_mppe_free(mppe) }
        var header: UInt16 = 0
        elapsed = buffer.withUnsafeMutableBufferPointer { pointer in
            if workload == .stateless {
                time(iterations) { header = bench_mppe_stateless_encrypt(mppe, pointer.baseAddress, size) }
            } else {
                time(iterations) { header = bench_mppe_stateful_encrypt(mppe, pointer.baseAddress, size) }
            }
        }
        blackHole(UInt8(truncatingIfNeeded: header))
    }
    blackHole(buffer[size / 2])
    switch workload {
    case .rc4: return Double(size * iterations) / elapsed / 1e6
    case .stateless, .stateful: return elapsed / Double(iterations) * 1e9
    }
}

/// Checks, before measuring, that our MPPE-128 output equals OpenSSL's and plain C's byte for byte, in both modes
/// and across key changes and the coherency wrap.
func checkAgreement() {
    for mode in [MPPEMode.stateless, .stateful] {
        var ours = MPPEEncryptor(key: masterKey, mode: mode)
        let openSSL = bench_mppe_new(Int32(BENCH_OPENSSL), master, initialSession)
        let plain = bench_mppe_new(Int32(BENCH_PLAIN_C), master, initialSession)
        defer {
            bench_mppe_free(openSSL)
            bench_mppe_free(plain)
        }
        for index in 0..<4200 {
            var a = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 1 + index % 97)
            var b = a
            var c = a
            let header = ours.encrypt(&a)
            let headers =
                mode == .stateless
                ? (bench_mppe_stateless_encrypt(openSSL, &b, b.count), bench_mppe_stateless_encrypt(plain, &c, c.count))
                : (bench_mppe_stateful_encrypt(openSSL, &b, b.count), bench_mppe_stateful_encrypt(plain, &c, c.count))
            precondition(a == b && b == c, "\(mode) packet \(index): MSCrypto, OpenSSL and plain C disagree")
            precondition(
                header.rawValue == headers.0 && headers.0 == headers.1,
                "\(mode) packet \(index): headers differ"
            )
        }
    }
    print("Agreement: MSCrypto MPPE-128 output equals OpenSSL's and plain C's for 4200 packets, both modes.\n")
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func format(_ value: Double, _ digits: Int = 0) -> String {
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

/// Ratio of ours to a reference such that > 1 means ours is better.
func ratio(_ workload: Workload, ours: Double, reference: Double) -> Double {
    workload == .rc4 ? ours / reference : reference / ours
}

// MARK: Allocations

/// Heap allocations per packet over `packets` packets of `body`, after a warm-up.
func allocationsPerPacket(packets: Int = 10_000, _ body: () -> Void) -> Double {
    for _ in 0..<100 { body() }
    let before = bench_allocation_count()
    for _ in 0..<packets { body() }
    return Double(bench_allocation_count() - before) / Double(packets)
}

func countAllocations() -> [(String, Double)] {
    // Sanity check that the interposer sees Swift allocations at all.
    let probeBefore = bench_allocation_count()
    let probe = [UInt8](repeating: 1, count: Int(sink) + 100)
    blackHole(probe[0])
    precondition(bench_allocation_count() > probeBefore, "malloc interposer is not active")

    let key = masterKey
    var results: [(String, Double)] = []
    var buffer = [UInt8](repeating: 0x5A, count: 1400)
    buffer.withUnsafeMutableBytes { raw in
        guard var rc4 = RC4(key: master) else { fatalError("key") }
        results.append(("RC4.process, 1400 B", allocationsPerPacket { rc4.process(raw) }))
        for mode in [MPPEMode.stateless, .stateful] {
            var encryptor = MPPEEncryptor(key: key, mode: mode)
            results.append(
                (
                    "MPPEEncryptor \(mode) encrypt",
                    allocationsPerPacket { blackHole(UInt8(truncatingIfNeeded: encryptor.encrypt(raw).rawValue)) }
                )
            )
            var sender = MPPEEncryptor(key: key, mode: mode)
            var decryptor = MPPEDecryptor(key: key, mode: mode, lateKeyCacheSize: mode == .stateless ? 32 : 0)
            results.append(
                (
                    "MPPEDecryptor \(mode) decrypt",
                    allocationsPerPacket {
                        let header = sender.encrypt(raw)
                        if case .failure = decryptor.decrypt(header: header, ciphertext: raw) { fatalError("decrypt") }
                    }
                )
            )
        }
    }
    return results
}

// MARK: Main

checkAgreement()
var figures: [Workload: [Int: [Implementation: [Double]]]] = [:]
var ratios: [Workload: [Int: [Implementation: [Double]]]] = [:]
for run in 0..<runs {
    for workload in Workload.allCases {
        for size in sizes {
            // Alternate the order so that neither side always runs first (frequency ramps, cache state).
            let order = run % 2 == 0 ? Implementation.allCases : Implementation.allCases.reversed()
            var results: [Implementation: Double] = [:]
            for implementation in order {
                results[implementation] = measure(workload, implementation, size: size)
            }
            for implementation in Implementation.allCases {
                let value = results[implementation] ?? 0
                figures[workload, default: [:]][size, default: [:]][implementation, default: []].append(value)
                let r = ratio(workload, ours: results[.swift] ?? 0, reference: value)
                ratios[workload, default: [:]][size, default: [:]][implementation, default: []].append(r)
            }
        }
    }
}

print("Runs: \(runs) (median, [min–max])\n")
print("| workload | packet | MSCrypto | OpenSSL | plain C | MSCrypto ÷ OpenSSL | MSCrypto ÷ plain C |")
print("|---|---:|---:|---:|---:|---:|---:|")
for workload in Workload.allCases {
    for size in sizes {
        var cells: [String] = ["\(workload.rawValue) (\(workload.unit))", "\(size) B"]
        for implementation in Implementation.allCases {
            let values = figures[workload]?[size]?[implementation] ?? [0]
            cells.append("\(format(median(values))) [\(format(values.min() ?? 0))–\(format(values.max() ?? 0))]")
        }
        for reference in [Implementation.openSSL, .plainC] {
            let values = ratios[workload]?[size]?[reference] ?? [0]
            cells.append(
                "**\(format(median(values), 2))** [\(format(values.min() ?? 0, 2))–\(format(values.max() ?? 0, 2))]"
            )
        }
        print("| " + cells.joined(separator: " | ") + " |")
    }
}
print("\nRatios: > 1 means MSCrypto is faster (MB/s ÷ MB/s, or reference ns ÷ our ns), computed per run.\n")
print("| steady state | heap allocations per packet |")
print("|---|---:|")
for (name, count) in countAllocations() {
    print("| \(name) | \(format(count, 2)) |")
}

// MARK: What a forged frame costs the receiver

/// A stateless receiver must compute the key of a frame's coherency count before it can tell that
/// the plaintext is not the peer's (RFC 3078 §3.1: one key change per count). A blind attacker picks
/// the count, so this is the work one forged frame buys (issue 18: bounded work per packet).
func forgedFrameCost(ahead: UInt16) -> Double {
    var decryptor = MPPEDecryptor(key: masterKey, mode: .stateless)
    var garbage = [UInt8](repeating: 0x5A, count: 64)
    // Refused frames leave the receiver's state alone, so every attempt is `ahead` of it again.
    let header = MPPEHeader(flushed: true, coherencyCount: ahead)
    let attempts = max(200, 200_000 / Int(ahead))
    let elapsed = garbage.withUnsafeMutableBytes { raw in
        time(attempts) {
            if case .success = decryptor.decrypt(header: header, ciphertext: raw, accept: { _ in false }) {
                fatalError("a refused plaintext was accepted")
            }
        }
    }
    return elapsed / Double(attempts) * 1e9
}

print("\n| forged stateless frame, coherency count ahead | receiver's cost (ns per frame, refused) |")
print("|---:|---:|")
for ahead: UInt16 in [1, 16, 256, 2047] {
    print("| \(ahead) | \(format(median((0..<5).map { _ in forgedFrameCost(ahead: ahead) }))) |")
}

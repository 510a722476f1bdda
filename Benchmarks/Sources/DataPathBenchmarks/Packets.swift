import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

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

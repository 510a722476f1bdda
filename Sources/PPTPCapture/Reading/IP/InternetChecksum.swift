import NIOCore

/// The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of 16-bit words.
enum InternetChecksum {
    /// The folded ones' complement sum of `bytes` (an odd final octet is padded with zero, RFC 1071 §4.1).
    static func sum(_ bytes: ByteBufferView) -> UInt16 {
        var total: UInt32 = 0
        var iterator = bytes.makeIterator()
        while let high = iterator.next() {
            let low = iterator.next() ?? 0
            total &+= UInt32(high) << 8 | UInt32(low)
            // Fold early so the 32-bit accumulator never overflows, whatever the length.
            if total & 0xFFFF_0000 != 0 { total = (total & 0xFFFF) &+ (total >> 16) }
        }
        while total > 0xFFFF { total = (total & 0xFFFF) &+ (total >> 16) }
        return UInt16(truncatingIfNeeded: total)
    }
}

/// The MD4 message digest, RFC 1320.
///
/// MD4 is broken as a general-purpose hash; MS-CHAP uses it only to hash passwords (RFC 2433 §A.6 NtPasswordHash,
/// RFC 2759 §8.3–§8.4 NtPasswordHash and HashNtPasswordHash). swift-crypto does not offer it, so it lives here.
public enum MD4 {
    /// Length of an MD4 digest in bytes.
    public static let byteCount = 16

    /// The 16-byte MD4 digest of `message` (RFC 1320 §3).
    public static func hash(_ message: some Collection<UInt8>) -> [UInt8] {
        Array(message).withUnsafeBytes { hash($0) }
    }

    /// The 16-byte MD4 digest of the bytes in `message` (RFC 1320 §3).
    public static func hash(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        // RFC 1320 §3.3: initialise the MD buffer A, B, C, D (low-order bytes first).
        var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
        var block = [UInt32](repeating: 0, count: 16)

        // Whole 64-byte blocks of the message.
        var offset = 0
        while message.count - offset >= 64 {
            for word in 0..<16 {
                block[word] = UInt32(
                    littleEndian: message.loadUnaligned(fromByteOffset: offset + 4 * word, as: UInt32.self)
                )
            }
            compress(&state, block)
            offset += 64
        }

        // RFC 1320 §3.1–§3.2: append a 1 bit, zeros up to 56 mod 64 bytes, then the bit length (64 bits, low word
        // first). The tail is at most 63 + 1 + 63 + 8 bytes, i.e. one or two blocks.
        var tail = Array(message[offset...])
        tail.append(0x80)
        while tail.count % 64 != 56 {
            tail.append(0)
        }
        let bitLength = UInt64(truncatingIfNeeded: message.count) &* 8
        for shift in stride(from: 0, to: 64, by: 8) {
            tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        tail.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                for word in 0..<16 {
                    block[word] = UInt32(
                        littleEndian: bytes.loadUnaligned(fromByteOffset: start + 4 * word, as: UInt32.self)
                    )
                }
                compress(&state, block)
                start += 64
            }
        }

        // RFC 1320 §3.5: the digest is A, B, C, D, each low-order byte first.
        var digest: [UInt8] = []
        digest.reserveCapacity(byteCount)
        for word in [state.0, state.1, state.2, state.3] {
            for shift in stride(from: 0, to: 32, by: 8) {
                digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift)))
            }
        }
        return digest
    }

    /// RFC 1320 §3.4: process one 16-word block in three rounds of sixteen operations.
    private static func compress(_ state: inout (UInt32, UInt32, UInt32, UInt32), _ x: [UInt32]) {
        var a = state.0
        var b = state.1
        var c = state.2
        var d = state.3

        func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 {
            (value &<< count) | (value &>> (32 &- count))
        }
        // F(X,Y,Z) = XY v not(X) Z;  G(X,Y,Z) = XY v XZ v YZ;  H(X,Y,Z) = X xor Y xor Z.
        func f(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (~x & z) }
        func g(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (x & z) | (y & z) }
        func h(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { x ^ y ^ z }

        // Round 1: [abcd k s] a = (a + F(b,c,d) + X[k]) <<< s.
        for k in stride(from: 0, to: 16, by: 4) {
            a = rotate(a &+ f(b, c, d) &+ x[k], 3)
            d = rotate(d &+ f(a, b, c) &+ x[k + 1], 7)
            c = rotate(c &+ f(d, a, b) &+ x[k + 2], 11)
            b = rotate(b &+ f(c, d, a) &+ x[k + 3], 19)
        }
        // Round 2: [abcd k s] a = (a + G(b,c,d) + X[k] + 5A827999) <<< s, k going down the columns.
        let root2: UInt32 = 0x5a82_7999
        for k in 0..<4 {
            a = rotate(a &+ g(b, c, d) &+ x[k] &+ root2, 3)
            d = rotate(d &+ g(a, b, c) &+ x[k + 4] &+ root2, 5)
            c = rotate(c &+ g(d, a, b) &+ x[k + 8] &+ root2, 9)
            b = rotate(b &+ g(c, d, a) &+ x[k + 12] &+ root2, 13)
        }
        // Round 3: [abcd k s] a = (a + H(b,c,d) + X[k] + 6ED9EBA1) <<< s, k in bit-reversed order.
        let root3: UInt32 = 0x6ed9_eba1
        for k in [0, 2, 1, 3] {
            a = rotate(a &+ h(b, c, d) &+ x[k] &+ root3, 3)
            d = rotate(d &+ h(a, b, c) &+ x[k + 8] &+ root3, 9)
            c = rotate(c &+ h(d, a, b) &+ x[k + 4] &+ root3, 11)
            b = rotate(b &+ h(c, d, a) &+ x[k + 12] &+ root3, 15)
        }

        state.0 &+= a
        state.1 &+= b
        state.2 &+= c
        state.3 &+= d
    }
}

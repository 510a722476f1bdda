/// Inline key storage for the per-packet path, and constant-time comparison of secrets.

/// Sixteen bytes stored inline (no heap allocation), used for keys and hashes on the per-packet path.
///
/// Keys of 8 bytes (40/56-bit MPPE) use the first half; the rest stays zero.
struct Bytes16: Sendable {
    private var storage: (UInt64, UInt64) = (0, 0)

    /// All zero.
    init() {}

    /// Copies the first `min(bytes.count, 16)` bytes of `bytes`; the rest stays zero.
    init(_ bytes: some Collection<UInt8>) {
        self.withUnsafeMutableBytes { out in
            for (index, byte) in zip(0..<16, bytes) {
                out[index] = byte
            }
        }
    }

    /// Copies the first `min(bytes.count, 16)` bytes of a raw buffer.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.withUnsafeMutableBytes { out in
            out.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(16)))
        }
    }

    @inline(__always)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: self.storage, body)
    }

    @inline(__always)
    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &self.storage, body)
    }

    /// The first `count` bytes as an array.
    func prefix(_ count: Int) -> [UInt8] {
        self.withUnsafeBytes { Array($0.prefix(count)) }
    }

    /// Overwrites the bytes with zeros (best effort: copies made earlier by the optimiser are not reached).
    mutating func zeroize() {
        self.storage = (0, 0)
    }
}

/// Compares two byte sequences in time that depends only on their lengths, never on where they differ.
///
/// RFC 2759 §8.8 (CheckAuthenticatorResponse) and the authenticator's NT-Response check compare a secret-derived
/// value with an attacker-supplied one; an early exit would leak how many leading bytes matched.
@inline(never)
func constantTimeEqual(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<lhs.count {
        difference |= lhs[index] ^ rhs[index]
    }
    return difference == 0
}

/// `constantTimeEqual` for arrays.
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in constantTimeEqual(l, r) } }
}

/// Throws `MSCryptoError.invalidLength` unless `bytes` has exactly `count` bytes.
@inline(__always)
func requireLength(_ bytes: [UInt8], _ count: Int, _ field: MSCryptoField) throws(MSCryptoError) {
    guard bytes.count == count else {
        throw .invalidLength(field, expected: count, actual: bytes.count)
    }
}

import Crypto

/// SHA-1 for the per-packet MPPE key change (RFC 3078 §7.3), without a heap allocation.
///
/// SHA-1 always comes from swift-crypto; it is never implemented here. Its public API, `Insecure.SHA1`, allocates
/// one object per hash on Linux (its BoringSSL context lives in a class), and stateless MPPE hashes once per
/// packet, which the data path may not do (DESIGN.md: no allocation per packet). So on Linux this calls the
/// one-shot `SHA1()` of the BoringSSL that swift-crypto compiles in, under the prefixed name swift-crypto gives it
/// (`CCryptoBoringSSL_SHA1`, stable since swift-crypto 1.0). The arguments are two pointers and an integer, which
/// the Swift and C calling conventions pass identically on x86-64 and arm64. `sha1MatchesSwiftCrypto` checks it
/// against `Insecure.SHA1`; if swift-crypto ever renamed the symbol the build would fail to link, never silently
/// misbehave. On Apple platforms swift-crypto is CryptoKit, whose `Insecure.SHA1` is used directly.
enum SHA1Digest {
    /// Length of a SHA-1 digest.
    static let byteCount = 20

    /// Writes SHA-1(`input`) to the first 20 bytes of `digest`, which must have room for them.
    @inline(__always)
    static func hash(_ input: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        precondition(digest.count >= byteCount, "SHA-1 output buffer too small")
        #if canImport(Darwin)
        var sha = Insecure.SHA1()
        sha.update(bufferPointer: input)
        sha.finalize().withUnsafeBytes { bytes in
            digest.copyMemory(from: bytes)
        }
        #else
        _ = boringSSLSHA1(input.baseAddress, input.count, digest.baseAddress)
        #endif
    }
}

#if !canImport(Darwin)
/// `uint8_t *SHA1(const uint8_t *data, size_t len, uint8_t out[SHA_DIGEST_LENGTH])` of BoringSSL, as compiled into
/// swift-crypto's CCryptoBoringSSL target.
@_silgen_name("CCryptoBoringSSL_SHA1")
private func boringSSLSHA1(
    _ data: UnsafeRawPointer?,
    _ count: Int,
    _ out: UnsafeMutableRawPointer?
) -> UnsafeMutableRawPointer?
#endif

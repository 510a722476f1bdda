import Testing

@testable import MSCrypto

@Suite struct MD4Tests {
    /// RFC 1320 §A.5 "Test suite".
    @Test(arguments: [
        ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
        ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
        ("message digest", "d9130a8164549fe818874806e1c7014b"),
        ("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "e33b4ddc9c38f2199c3e7b164fcc0536"
        ),
    ])
    func md4MatchesRFC1320Vectors(message: String, digest: String) {
        #expect(MD4.hash(Array(message.utf8)) == hex(digest))
    }

    /// Messages around the 55/56/64-byte padding boundaries hash the same through both entry points.
    @Test func md4HandlesEveryPaddingBoundary() {
        for length in 50...130 {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let viaCollection = MD4.hash(message)
            let viaBuffer = message.withUnsafeBytes { MD4.hash($0) }
            #expect(viaCollection == viaBuffer)
            #expect(viaCollection.count == 16)
        }
    }
}

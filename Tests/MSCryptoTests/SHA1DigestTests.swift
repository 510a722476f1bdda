import Crypto
import PropertyBased
import Testing

@testable import MSCrypto

@Suite struct SHA1DigestTests {
    /// The allocation-free SHA-1 used for MPPE key changes equals swift-crypto's `Insecure.SHA1`.
    @Test func sha1MatchesSwiftCrypto() async {
        await propertyCheck(input: Gen.uint8().array(of: 0...200)) { input in
            var digest = [UInt8](repeating: 0, count: 24)
            input.withUnsafeBytes { bytes in
                digest.withUnsafeMutableBytes { SHA1Digest.hash(bytes, into: $0) }
            }
            #expect(Array(digest.prefix(20)) == Array(Insecure.SHA1.hash(data: input)))
            #expect(digest.suffix(4).allSatisfy { $0 == 0 })
        }
    }

    /// FIPS 180 example: SHA-1("abc").
    @Test func sha1MatchesFIPS180Example() {
        var digest = [UInt8](repeating: 0, count: 20)
        Array("abc".utf8).withUnsafeBytes { bytes in
            digest.withUnsafeMutableBytes { SHA1Digest.hash(bytes, into: $0) }
        }
        #expect(digest == hex("a9993e364706816aba3e25717850c26c9cd0d89d"))
    }
}

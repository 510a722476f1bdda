import PropertyBased
import Testing

@testable import MSCrypto

@Suite struct RC4Tests {
    /// The classic vectors: ("Key", "Plaintext"), ("Wiki", "pedia"), ("Secret", "Attack at dawn").
    @Test(arguments: [
        ("Key", "Plaintext", "BBF316E8D940AF0AD3"),
        ("Wiki", "pedia", "1021BF0420"),
        ("Secret", "Attack at dawn", "45A01F645FC35B383552544B9BF5"),
    ])
    func rc4MatchesClassicVectors(key: String, plaintext: String, ciphertext: String) throws {
        var rc4 = try #require(RC4(key: Array(key.utf8)))
        var bytes = Array(plaintext.utf8)
        rc4.process(&bytes)
        #expect(bytes == hex(ciphertext))
    }

    /// RFC 6229 §2 keystream at offsets 0, 16, 240, 256, 1520, 1536, 3056 and 3072 for the 40-, 64- and 128-bit
    /// keys 0x0102….
    @Test(arguments: [
        (
            5,
            [
                "b2396305f03dc027ccc3524a0a1118a8", "6982944f18fc82d589c403a47a0d0919",
                "28cb1132c96ce286421dcaadb8b69eae", "1cfcf62b03eddb641d77dfcf7f8d8c93",
                "3294f744d8f9790507e70f62e5bbceea", "d8729db41882259bee4f825325f5a130",
                "f2e30f9bd102ecbf75aaade9bc35c43c", "ec0e11c479dc329dc8da7968fe965681",
            ]
        ),
        (
            8,
            [
                "97ab8a1bf0afb96132f2f67258da15a8", "8263efdb45c4a18684ef87e6b19e5b09",
                "9636ebc9841926f4f7d1f362bddf6e18", "d0a990ff2c05fef5b90373c9ff4b870a",
                "1fe8986713f07c3d9ae1c163ff8cf9d3", "8369e1a965610be887fbd0c79162aafb",
                "26b51ea37df8e1d6f76fc3b66a7429b3", "bc7683205d4f443dc1f29dda3315c87b",
            ]
        ),
        (
            16,
            [
                "9ac7cc9a609d1ef7b2932899cde41b97", "5248c4959014126a6e8a84f11d1a9e1c",
                "065902e4b620f6cc36c8589f66432f2b", "d39d566bc6bce3010768151549f3873f",
                "b40110c4190b5622a96116b0017ed297", "ffa0b514647ec04f6306b892ae661181",
                "fabeb76028ade2d0e48722e46c4615a3", "c05d88abd50357f935a63c59ee537623",
            ]
        ),
    ])
    func rc4MatchesRFC6229Vectors(keyLength: Int, expected: [String]) throws {
        let key = (1...keyLength).map { UInt8($0) }
        var rc4 = try #require(RC4(key: key))
        var stream = [UInt8](repeating: 0, count: 3088)
        rc4.process(&stream)
        for (offset, block) in zip([0, 16, 240, 256, 1520, 1536, 3056, 3072], expected) {
            #expect(Array(stream[offset..<(offset + 16)]) == hex(block), "offset \(offset)")
        }
    }

    /// The key schedule specialised for 8- and 16-byte MPPE keys equals the general one.
    @Test func specialisedKeyScheduleMatchesGeneralOne() async {
        await propertyCheck(input: Gen.uint8().array(of: 16), Gen.bool) { keyBytes, short in
            let length = short ? 8 : 16
            guard var general = RC4(key: keyBytes.prefix(length)) else {
                Issue.record("key rejected")
                return
            }
            var special = RC4(key: Bytes16(keyBytes), keyLength: length)
            var a = [UInt8](repeating: 0, count: 300)
            var b = a
            general.process(&a)
            special.process(&b)
            #expect(a == b)
        }
    }

    /// Processing a buffer in arbitrary pieces gives the same bytes as processing it at once, whatever the
    /// alignment of the pieces relative to the eight-byte inner loop.
    @Test func rc4InPiecesEqualsRC4AtOnce() async {
        await propertyCheck(input: Gen.uint8().array(of: 1...40), Gen.int(in: 1...17).array(of: 1...30)) { key, cuts in
            guard var whole = RC4(key: key) else {
                Issue.record("key rejected")
                return
            }
            var pieces = whole
            var data = (0..<cuts.reduce(0, +)).map { UInt8(truncatingIfNeeded: $0) }
            var expected = data
            whole.process(&expected)
            data.withUnsafeMutableBytes { buffer in
                var start = 0
                for cut in cuts {
                    pieces.process(UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + cut)]))
                    start += cut
                }
            }
            #expect(data == expected)
        }
    }

    @Test func rc4RejectsEmptyAndOverlongKeys() {
        #expect(RC4(key: [UInt8]()) == nil)
        #expect(RC4(key: [UInt8](repeating: 1, count: 257)) == nil)
        #expect(RC4(key: [UInt8](repeating: 1, count: 256)) != nil)
    }

    @Test func rc4ProcessesEmptyBuffer() throws {
        var rc4 = try #require(RC4(key: [1, 2, 3]))
        var empty: [UInt8] = []
        rc4.process(&empty)
        rc4.process(UnsafeMutableRawBufferPointer(start: nil, count: 0))
        #expect(empty.isEmpty)
    }
}

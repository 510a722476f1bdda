import PPP
import PropertyBased
import Testing

@Suite struct HDLCTests {
    @Test func fcsMatchesTheCheckValueOfCRC16X25() {
        // CRC-16/X-25 (the PPP FCS) of "123456789" is 0x906E: the complement of the register.
        #expect(~HDLC.fcs16(HDLC.initialFCS, Array("123456789".utf8)) == 0x906E)
    }

    @Test func encodesWithFlagsEscapesAndFCS() {
        // LCP Configure-Request id 1 with no options; default ACCM escapes every control char.
        let frame: [UInt8] = [0xFF, 0x03, 0xC0, 0x21, 0x01, 0x01, 0x00, 0x04]
        let encoded = HDLCEncoder().encode(frame)
        #expect(encoded.first == 0x7E && encoded.last == 0x7E)
        // 0x03, 0x01, 0x01, 0x00, 0x04 are all below 0x20 and so escaped.
        #expect(Array(encoded[1...5]) == [0xFF, 0x7D, 0x23, 0xC0, 0x21])
        var decoder = HDLCDecoder()
        #expect(decoder.decode(encoded) == [.frame(frame)])
    }

    @Test func escapesFlagAndEscapeEvenWithAnEmptyACCM() {
        let encoded = HDLCEncoder(accm: 0).encode([0x7E, 0x7D, 0x01])
        #expect(Array(encoded[1...5]) == [0x7D, 0x5E, 0x7D, 0x5D, 0x01])
    }

    @Test func reportsBadFCS() {
        var encoded = HDLCEncoder(accm: 0).encode([0xFF, 0x03, 0xC0, 0x21, 9, 9, 9])
        encoded[5] ^= 0x40
        var decoder = HDLCDecoder(accm: 0)
        #expect(decoder.decode(encoded) == [.error(.badFrameCheckSequence)])
    }

    @Test func reportsAbortSequence() {
        var decoder = HDLCDecoder(accm: 0)
        #expect(decoder.decode([0x7E, 0xFF, 0x03, 0x7D, 0x7E]) == [.error(.frameAborted)])
    }

    @Test func boundsFrameLength() {
        var decoder = HDLCDecoder(accm: 0, maximumFrameLength: 16)
        let outputs = decoder.decode([0x7E] + Array(repeating: 0x41, count: 1000) + [0x7E])
        #expect(outputs == [.error(.frameTooLong(limit: 16))])
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func ignoresEmptyFramesBetweenFlags() {
        var decoder = HDLCDecoder()
        #expect(decoder.decode([0x7E, 0x7E, 0x7E]) == [])
    }

    @Test func roundTripsRandomFramesAcrossRandomChunks() async {
        await propertyCheck(
            count: 300,
            input: Gen.uint8(in: 0...255).array(of: 4...300),
            Gen.uint32(in: 0...UInt32.max)
        ) {
            frame,
            accm in
            let encoded = HDLCEncoder(accm: accm).encode(frame) + HDLCEncoder(accm: accm).encode(frame)
            var decoder = HDLCDecoder(accm: accm, maximumFrameLength: 400)
            var outputs: [HDLCDecoder.Output] = []
            // One octet at a time, the hardest case for a streaming decoder.
            for byte in encoded { outputs += decoder.decode([byte]) }
            #expect(outputs == [.frame(frame), .frame(frame)])
        }
    }

    @Test func arbitraryBytesNeverTrap() async {
        await propertyCheck(count: 500, input: Gen.uint8(in: 0...255).array(of: 0...500)) { junk in
            var decoder = HDLCDecoder(accm: 0, maximumFrameLength: 64)
            _ = decoder.decode(junk)
            #expect(decoder.bufferedBytes <= 64)
        }
    }
}

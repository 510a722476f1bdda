import NIOCore
import PPTP
import PropertyBased
import Testing

@Suite struct GREHeaderTests {
    // RFC 2637 §4.1 layout: flags 0x3081 = K, S, A, version 1; protocol 0x880B; payload length;
    // Call ID; sequence; acknowledgment.
    let dataWithAck = bytes("3081 880b | 0004 0100 | 00000005 | 00000003 | c0210102")
    let dataOnly = bytes("3001 880b | 0002 0100 | 00000006 | ff03")
    let ackOnly = bytes("2081 880b | 0000 0100 | 00000007")

    @Test func parsesDataPacketWithPiggyBackedAck() throws {
        let packet = try GREPacket(parsing: ByteBuffer(bytes: dataWithAck))
        #expect(
            packet.header == GREHeader(payloadLength: 4, callID: 0x0100, sequenceNumber: 5, acknowledgmentNumber: 3)
        )
        #expect(packet.payload.allBytes == [0xC0, 0x21, 0x01, 0x02])
    }

    @Test func parsesDataPacketWithoutAck() throws {
        let packet = try GREPacket(parsing: ByteBuffer(bytes: dataOnly))
        #expect(packet.header == GREHeader(payloadLength: 2, callID: 0x0100, sequenceNumber: 6))
    }

    @Test func parsesAckOnlyPacket() throws {
        let packet = try GREPacket(parsing: ByteBuffer(bytes: ackOnly))
        #expect(packet.header.isAcknowledgmentOnly)
        #expect(packet.header.acknowledgmentNumber == 7)
        #expect(packet.payload.readableBytes == 0)
    }

    @Test func writesVectors() throws {
        for vector in [dataWithAck, dataOnly, ackOnly] {
            let packet = try GREPacket(parsing: ByteBuffer(bytes: vector))
            var out = ByteBuffer()
            packet.write(to: &out)
            #expect(out.allBytes == vector)
        }
    }

    @Test func ignoresPaddingAfterThePayload() throws {
        let packet = try GREPacket(parsing: ByteBuffer(bytes: dataOnly + [0, 0, 0]))
        #expect(packet.payload.allBytes == [0xFF, 0x03])
    }

    @Test func rejectsEveryTruncation() {
        for vector in [dataWithAck, dataOnly, ackOnly] {
            for cut in 0..<vector.count {
                #expect(throws: PPTPWireError.self) { try GREPacket(parsing: ByteBuffer(bytes: vector[..<cut])) }
            }
        }
    }

    @Test func rejectsVersionOtherThanOne() {
        #expect(throws: PPTPWireError.greVersion(0)) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("3080 880b 0000 0100 00000001")))
        }
    }

    @Test func rejectsKeyBitClear() {
        #expect(throws: PPTPWireError.greKeyAbsent) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("1001 880b 0000 0100 00000001")))
        }
    }

    @Test func rejectsRoutingAndChecksum() {
        #expect(throws: PPTPWireError.greChecksumOrRoutingPresent) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("7001 880b 0000 0100 00000001")))
        }
        #expect(throws: PPTPWireError.greChecksumOrRoutingPresent) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("b001 880b 0000 0100 00000001")))
        }
    }

    @Test func rejectsRecursionAndFlags() {
        #expect(throws: PPTPWireError.greReservedFieldsSet(flags: 0x3101)) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("3101 880b 0000 0100 00000001")))
        }
        #expect(throws: PPTPWireError.greReservedFieldsSet(flags: 0x3009)) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("3009 880b 0000 0100 00000001")))
        }
    }

    @Test func rejectsOtherProtocols() {
        #expect(throws: PPTPWireError.greProtocol(0x0800)) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("3001 0800 0000 0100 00000001")))
        }
    }

    @Test func rejectsPayloadLengthBeyondThePacket() {
        #expect(throws: PPTPWireError.grePayloadLength(declared: 5, available: 2)) {
            try GREPacket(parsing: ByteBuffer(bytes: bytes("3001 880b 0005 0100 00000001 ff03")))
        }
    }

    @Test func roundTripsGeneratedHeaders() async {
        await propertyCheck(count: 300, input: Gen.uint8(in: 0...255).array(of: 0...64)) { seed in
            var s = ByteSource(seed)
            let payload = s.array(maxCount: 40)
            let flags = s.byte()
            let header = GREHeader(
                payloadLength: UInt16(payload.count),
                callID: s.integer(),
                sequenceNumber: flags & 1 == 1 ? s.integer() : nil,
                acknowledgmentNumber: flags & 2 == 2 ? s.integer() : nil
            )
            let packet = GREPacket(header: header, payload: ByteBuffer(bytes: payload))
            var out = ByteBuffer()
            packet.write(to: &out)
            #expect(out.readableBytes == header.encodedLength + payload.count)
            #expect((try? GREPacket(parsing: out)) == packet)
        }
    }

    @Test func arbitraryBytesNeverTrap() async {
        await propertyCheck(count: 1000, input: Gen.uint8(in: 0...255).array(of: 0...40)) { junk in
            _ = try? GREPacket(parsing: ByteBuffer(bytes: junk))
        }
    }
}

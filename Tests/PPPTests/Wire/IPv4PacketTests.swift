import PPP
import Testing

@Suite struct IPv4PacketTests {
    static let source = IPv4Address(198, 51, 100, 1)
    static let destination = IPv4Address(198, 51, 100, 2)

    func parse(_ bytes: [UInt8]) -> Result<IPv4Packet, IPv4Packet.Rejection> {
        bytes.withUnsafeBytes { IPv4Packet.parse($0) }
    }

    @Test func parsesHeaderAndLocatesPayload() throws {
        let packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 47,
            payload: [1, 2, 3, 4]
        )
        let header = try parse(packet).get()
        #expect(header.headerLength == 20)
        #expect(header.totalLength == 24)
        #expect(header.protocolNumber == 47)
        #expect(header.source == Self.source)
        #expect(header.destination == Self.destination)
    }

    @Test func honoursOptionsInHeaderLength() throws {
        var packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 47,
            payload: [9, 9]
        )
        // IHL 6: one word of options (NOP NOP NOP EOL) before the payload.
        packet[0] = 0x46
        packet.insert(contentsOf: [1, 1, 1, 0], at: 20)
        packet[3] = UInt8(packet.count)
        let header = try parse(packet).get()
        #expect(header.headerLength == 24)
        #expect(header.totalLength == 26)
    }

    @Test func ignoresOctetsAfterTotalLength() throws {
        let packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 47,
            payload: [1]
        )
        #expect(try parse(packet + [0, 0, 0]).get().totalLength == 21)
    }

    @Test func rejectsEveryTruncation() {
        let packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 47,
            payload: [1, 2, 3]
        )
        for length in 0..<packet.count {
            #expect(throws: (any Error).self, "prefix of \(length)") { try parse(Array(packet.prefix(length))).get() }
        }
    }

    @Test func rejectsMalformedHeaders() {
        let packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 47,
            payload: [1, 2, 3, 4]
        )
        var version6 = packet
        version6[0] = 0x65
        #expect(parse(version6) == .failure(.malformed))
        var shortIHL = packet
        shortIHL[0] = 0x44
        #expect(parse(shortIHL) == .failure(.malformed))
        var longIHL = packet
        longIHL[0] = 0x4F  // 60 octets of header, more than the packet
        #expect(parse(longIHL) == .failure(.short))
        var totalBelowHeader = packet
        totalBelowHeader[2] = 0
        totalBelowHeader[3] = 19
        #expect(parse(totalBelowHeader) == .failure(.lengthMismatch))
        var totalAboveReceived = packet
        totalAboveReceived[3] = 25
        #expect(parse(totalAboveReceived) == .failure(.lengthMismatch))
        #expect(parse([0x45]) == .failure(.short))
    }

    @Test func marksFragments() throws {
        let packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 47,
            payload: [1, 2, 3, 4]
        )
        #expect(try parse(packet).get().isFragment == false)
        // The raw GRE socket drops these: the kernel reassembles before it delivers.
        var moreFragments = packet
        moreFragments[6] = 0x20
        #expect(try parse(moreFragments).get().isFragment)
        var offset = packet
        offset[7] = 0x01
        #expect(try parse(offset).get().isFragment)
    }

    @Test func checksumOfABuiltHeaderIsValidAndAnyFlippedBitBreaksIt() {
        let packet = IPv4Packet.build(
            source: Self.source,
            destination: Self.destination,
            protocolNumber: 6,
            payload: []
        )
        #expect(packet.withUnsafeBytes { IPv4Packet.headerChecksumIsValid($0, headerLength: 20) })
        for bit in 0..<160 {
            var damaged = packet
            damaged[bit / 8] ^= 1 << (bit % 8)
            #expect(!damaged.withUnsafeBytes { IPv4Packet.headerChecksumIsValid($0, headerLength: 20) })
        }
        // RFC 1071 §3's example words sum to 0xDDF2; the checksum is its complement.
        let words: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(words.withUnsafeBytes { IPv4Packet.checksum($0) } == ~UInt16(0xDDF2))
    }
}

import PPP
import PPTPNetwork
import Testing

@Suite struct ReceivedIPv4HeaderTests {
    static let source = IPv4Address(198, 51, 100, 1)
    static let destination = IPv4Address(198, 51, 100, 2)

    func parse(_ bytes: [UInt8]) -> Result<ReceivedIPv4Header, ReceivedIPv4Header.Rejection> {
        bytes.withUnsafeBytes { ReceivedIPv4Header.parse($0) }
    }

    @Test func parsesHeaderAndLocatesPayload() throws {
        let packet = ipv4Packet(
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
        var packet = ipv4Packet(
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
        let packet = ipv4Packet(source: Self.source, destination: Self.destination, protocolNumber: 47, payload: [1])
        #expect(try parse(packet + [0, 0, 0]).get().totalLength == 21)
    }

    @Test func rejectsEveryTruncation() {
        let packet = ipv4Packet(
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
        let packet = ipv4Packet(
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
        var moreFragments = packet
        moreFragments[6] = 0x20
        #expect(parse(moreFragments) == .failure(.fragment))
        var offset = packet
        offset[7] = 0x01
        #expect(parse(offset) == .failure(.fragment))
        #expect(parse([0x45]) == .failure(.short))
    }
}

@Suite struct PacketBatchTests {
    @Test func rejectsImpossibleGeometry() {
        #expect(throws: NetworkError.batchGeometry(count: 0, bufferSize: 2048, headroom: 64)) {
            try PacketBatch(capacity: 0)
        }
        #expect(throws: NetworkError.batchGeometry(count: 4, bufferSize: 128, headroom: 120)) {
            try PacketBatch(capacity: 4, bufferSize: 128, headroom: 120)
        }
    }

    @Test func appendsAtHeadroomAndSwapsBuffersWithoutCopying() throws {
        let first = try PacketBatch(capacity: 2, bufferSize: 256, headroom: 32)
        let second = try PacketBatch(capacity: 2, bufferSize: 256, headroom: 32)
        let bytes: [UInt8] = [1, 2, 3]
        #expect(bytes.withUnsafeBytes { first.append($0, peer: IPv4Address(192, 0, 2, 9)) })
        #expect(first.count == 1)
        #expect(first[0] == PacketMetadata(offset: 32, length: 3, peer: IPv4Address(192, 0, 2, 9)))
        #expect(Array(first.packet(0)) == bytes)
        let address = first.buffer(0).baseAddress
        first.swapBuffer(0, with: second, slot: 1)
        #expect(second.buffer(1).baseAddress == address)
        #expect(Array(second.packet(1)) == bytes)
        #expect(bytes.withUnsafeBytes { first.append($0, peer: .unspecified, offset: 254) } == false)
        first.removeAll()
        #expect(first.count == 0)
    }
}

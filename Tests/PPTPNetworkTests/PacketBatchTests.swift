import PPP
import PPTPNetwork
import Testing

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

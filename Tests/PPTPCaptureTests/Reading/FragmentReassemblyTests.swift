import NIOCore
import PropertyBased
import Testing

@testable import PPTPCapture

@Suite struct FragmentReassemblyTests {
    static let source = IPAddress.v4(192, 0, 2, 2)
    static let destination = IPAddress.v4(192, 0, 2, 1)
    static let v4Key = FragmentKey(source: source, destination: destination, ipv4Protocol: .gre, identification: 77)
    static let v6Key = FragmentKey(
        source: IPAddress("2001:db8::2")!,
        destination: IPAddress("2001:db8::1")!,
        ipv4Protocol: nil,
        identification: 77
    )

    /// Splits `payload` into fragments of `size` octets (a multiple of 8), RFC 791 §2.3.
    static func fragments(of payload: [UInt8], size: Int) -> [(offset: Int, more: Bool, data: [UInt8])] {
        stride(from: 0, to: max(payload.count, 1), by: size).map { offset in
            let end = min(offset + size, payload.count)
            return (offset, end < payload.count, Array(payload[offset..<end]))
        }
    }

    @Test func reassemblesShuffledAndDuplicatedFragments() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 1...20000), Gen.int(in: 1...185)) {
            seed,
            length,
            units in
            var rng = readingTestGenerator(seed)
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let pieces = Self.fragments(of: payload, size: units * 8)
            var arrivals = pieces.enumerated().map { ($0.offset, $0.element) }
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                if let copy = arrivals.randomElement(using: &rng) { arrivals.append(copy) }
            }
            arrivals.shuffle(using: &rng)
            var reassembler = FragmentReassembler()
            var results: [ReassembledDatagram] = []
            var seen = Set<Int>()
            for (frame, (index, piece)) in arrivals.enumerated() {
                let (outcome, expired) = reassembler.receive(
                    key: Self.v4Key,
                    offset: piece.offset,
                    moreFragments: piece.more,
                    payloadProtocol: .gre,
                    data: ByteBuffer(bytes: piece.data),
                    frame: frame + 1,
                    time: .zero
                )
                #expect(expired.isEmpty)
                switch outcome {
                case .reassembled(let datagram):
                    results.append(datagram)
                    seen.insert(index)
                case .duplicate:
                    // Duplicates after completion start a new datagram instead; before it, they are dropped.
                    #expect(seen.contains(index))
                case .held:
                    seen.insert(index)
                case .abandoned(let abandoned):
                    Issue.record("abandoned: \(abandoned)")
                }
            }
            let first = results.first
            #expect(first.map { Array($0.payload.readableBytesView) } == payload)
            #expect(first?.frames.count == pieces.count)
            #expect(first?.payloadProtocol == .gre)
            #expect(reassembler.statistics.datagramsReassembled >= 1)
        }
    }

    @Test func reassemblesShuffledFragmentsThroughTheDemultiplexer() async {
        await propertyCheck(count: 100, input: Gen.uint64(), Gen.int(in: 1...9000)) { seed, length in
            var rng = readingTestGenerator(seed)
            let gre = CaptureBytes.gre(
                callID: 1,
                sequence: 1,
                payload: (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            )
            var frames = Self.fragments(of: gre, size: 1480).map { piece in
                CaptureBytes.ethernet(
                    type: 0x0800,
                    payload: CaptureBytes.ipv4(
                        protocolNumber: 47,
                        identification: 0x1234,
                        moreFragments: piece.more,
                        fragmentOffset: piece.offset,
                        payload: piece.data
                    )
                )
            }
            frames.shuffle(using: &rng)
            let result = CaptureReader.readAll(CaptureBytes.pcap(linkType: 1, records: frames.map { (0, 0, $0) }))
            #expect(result.grePayloads == [gre])
            #expect(result.statistics.greDatagrams == 1)
            #expect(result.statistics.ipDatagrams == 1)
            #expect(result.statistics.ipv4Packets == frames.count)
        }
    }

    @Test func keepsTheFirstIPv4DataOnOverlap() {
        var reassembler = FragmentReassembler()
        func receive(_ offset: Int, _ more: Bool, _ data: [UInt8]) -> FragmentOutcome {
            reassembler.receive(
                key: Self.v4Key,
                offset: offset,
                moreFragments: more,
                payloadProtocol: .gre,
                data: ByteBuffer(bytes: data),
                frame: offset,
                time: .zero
            ).outcome
        }
        #expect(receive(8, true, Array(repeating: 1, count: 8)) == .held)
        #expect(receive(0, true, Array(repeating: 2, count: 16)) == .held)  // overlaps 8..<16
        guard case .reassembled(let datagram) = receive(16, false, [3]) else {
            Issue.record("not reassembled")
            return
        }
        #expect(
            Array(datagram.payload.readableBytesView) == Array(repeating: 2, count: 8) + Array(repeating: 1, count: 8)
                + [3]
        )
        #expect(reassembler.statistics.overlappingFragments == 1)
    }

    @Test func abandonsOverlappingIPv6FragmentsButDropsExactDuplicates() {
        var reassembler = FragmentReassembler()
        func receive(_ offset: Int, _ more: Bool, _ data: [UInt8]) -> FragmentOutcome {
            reassembler.receive(
                key: Self.v6Key,
                offset: offset,
                moreFragments: more,
                payloadProtocol: .gre,
                data: ByteBuffer(bytes: data),
                frame: 1,
                time: .zero
            ).outcome
        }
        #expect(receive(0, true, Array(repeating: 1, count: 16)) == .held)
        #expect(receive(0, true, Array(repeating: 1, count: 16)) == .duplicate)
        // RFC 5722: an overlap abandons the whole packet.
        #expect(
            receive(8, true, Array(repeating: 9, count: 16))
                == .abandoned(AbandonedDatagram(key: Self.v6Key, reason: .overlap, frames: [1, 1]))
        )
        #expect(reassembler.datagramsInProgress == 0)
    }

    @Test func abandonsDatagramsThatExceedTheLimits() {
        var reassembler = FragmentReassembler()
        func receive(_ id: UInt32, _ offset: Int, _ more: Bool, _ count: Int) -> FragmentOutcome {
            var key = Self.v4Key
            key.identification = id
            return reassembler.receive(
                key: key,
                offset: offset,
                moreFragments: more,
                payloadProtocol: .gre,
                data: ByteBuffer(repeating: 0, count: count),
                frame: 1,
                time: .zero
            ).outcome
        }
        // Beyond 65 535 octets (the "ping of death").
        guard case .abandoned(let tooLarge) = receive(1, 65528, false, 16) else {
            Issue.record("not abandoned")
            return
        }
        #expect(tooLarge.reason == .tooLarge(end: 65544))
        // Two last fragments that disagree.
        #expect(receive(2, 0, false, 16) != .held)  // unfragmented by itself: completes at once
        #expect(receive(3, 16, false, 16) == .held)
        guard case .abandoned(let inconsistent) = receive(3, 8, false, 16) else {
            Issue.record("not abandoned")
            return
        }
        #expect(inconsistent.reason == .inconsistentLength(end: 24))
        // Data beyond a known end.
        #expect(receive(4, 0, false, 8) != .held)
        #expect(receive(5, 8, false, 8) == .held)
        guard case .abandoned(let beyond) = receive(5, 8, true, 16) else {
            Issue.record("not abandoned")
            return
        }
        #expect(beyond.reason == .inconsistentLength(end: 24))
        #expect(reassembler.statistics.datagramsAbandoned == 3)
    }

    @Test func expiresDatagramsByCaptureTimeAndEvictsTheOldest() {
        var reassembler = FragmentReassembler(
            configuration: .init(maximumDatagramsInProgress: 2, timeout: .seconds(30))
        )
        func receive(_ id: UInt32, at seconds: Int64) -> [AbandonedDatagram] {
            var key = Self.v4Key
            key.identification = id
            return reassembler.receive(
                key: key,
                offset: 0,
                moreFragments: true,
                payloadProtocol: .gre,
                data: ByteBuffer(repeating: 0, count: 8),
                frame: Int(id),
                time: CaptureTimestamp(seconds: seconds, nanoseconds: 0)
            ).expired
        }
        #expect(receive(1, at: 0) == [])
        #expect(receive(2, at: 10) == [])
        var evictedKey = Self.v4Key
        evictedKey.identification = 1
        #expect(receive(3, at: 20) == [AbandonedDatagram(key: evictedKey, reason: .evicted, frames: [1])])
        var expiredKey = Self.v4Key
        expiredKey.identification = 2
        #expect(receive(4, at: 41) == [AbandonedDatagram(key: expiredKey, reason: .timedOut, frames: [2])])
        #expect(reassembler.datagramsInProgress == 2)
        #expect(reassembler.finish().map(\.reason) == [.captureEnded, .captureEnded])
        #expect(reassembler.statistics.datagramsIncompleteAtEnd == 2)
        #expect(reassembler.statistics.datagramsAbandoned == 2)
    }

    @Test func reportsIncompleteDatagramsAtTheEndOfTheCapture() {
        let piece = CaptureBytes.ipv4(
            protocolNumber: 47,
            identification: 9,
            moreFragments: true,
            payload: Array(repeating: 0, count: 64)
        )
        let result = CaptureReader.readAll(CaptureBytes.pcap(linkType: 101, records: [(5, 0, piece)]))
        let key = FragmentKey(source: Self.source, destination: Self.destination, ipv4Protocol: .gre, identification: 9)
        #expect(
            result.diagnostics == [
                .fragmentHeld(key, offset: 0, moreFragments: true),
                .fragmentsAbandoned(key, reason: .captureEnded, frames: [1]),
            ]
        )
        #expect(result.statistics.fragments.datagramsIncompleteAtEnd == 1)
    }
}

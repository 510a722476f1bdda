import NIOCore
import PropertyBased
import Testing

@testable import PPTPCapture

/// A generator seeded from one number, for building test inputs inside a property.
func readingTestGenerator(_ seed: UInt64) -> Xoshiro {
    Xoshiro(seed: (seed, ~seed, seed &* 0x9E37_79B9_7F4A_7C15, 0x0123_4567_89AB_CDEF))
}

/// Cuts `stream` (starting at sequence number `start`) into segments, adds retransmissions and overlapping
/// segments, and shuffles everything except the first `keepFirst` segments.
func scrambledTCPSegments(
    of stream: [UInt8],
    start: UInt32,
    keepFirst: Int,
    using rng: inout Xoshiro
) -> [(sequence: UInt32, bytes: [UInt8])] {
    var segments: [(sequence: UInt32, bytes: [UInt8])] = []
    var position = 0
    while position < stream.count {
        let length = min(Int.random(in: 1...300, using: &rng), stream.count - position)
        segments.append((start &+ UInt32(position), Array(stream[position..<(position + length)])))
        position += length
    }
    let inOrder = segments
    // Retransmissions (exact duplicates) and overlapping segments (arbitrary ranges of the stream).
    for _ in 0..<(inOrder.isEmpty ? 0 : Int.random(in: 0...inOrder.count, using: &rng)) {
        if Bool.random(using: &rng), let copy = inOrder.randomElement(using: &rng) {
            segments.append(copy)
        } else {
            let lower = Int.random(in: 0..<stream.count, using: &rng)
            let upper = Int.random(in: (lower + 1)...min(stream.count, lower + 600), using: &rng)
            segments.append((start &+ UInt32(lower), Array(stream[lower..<upper])))
        }
    }
    let head = Array(segments.prefix(keepFirst))
    var tail = Array(segments.dropFirst(keepFirst))
    tail.shuffle(using: &rng)
    return head + tail
}

@Suite struct TCPReassemblyTests {
    @Test func reassemblesShuffledDuplicatedAndOverlappingSegments() async {
        await propertyCheck(count: 300, input: Gen.uint64(), Gen.int(in: 0...5000), Gen.uint32()) { seed, length, isn in
            var rng = readingTestGenerator(seed)
            let stream = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var reassembler = TCPStreamReassembler()
            var outputs = reassembler.receive(sequenceNumber: isn, syn: true, fin: false, payload: [])
            for segment in scrambledTCPSegments(of: stream, start: isn &+ 1, keepFirst: 0, using: &rng) {
                outputs += reassembler.receive(
                    sequenceNumber: segment.sequence,
                    syn: false,
                    fin: false,
                    payload: segment.bytes
                )
            }
            outputs += reassembler.receive(
                sequenceNumber: isn &+ 1 &+ UInt32(length),
                syn: false,
                fin: true,
                payload: []
            )
            #expect(Self.data(outputs) == stream)
            #expect(!outputs.contains { if case .gap = $0 { true } else { false } })
            #expect(outputs.last == .fin)
            #expect(reassembler.isFinished)
            #expect(reassembler.bufferedBytes == 0)
            #expect(reassembler.statistics.deliveredBytes == length)
            #expect(reassembler.nextSequenceNumber == isn &+ 2 &+ UInt32(length))
        }
    }

    @Test func startsMidStreamAtTheFirstSequenceNumberSeen() async {
        await propertyCheck(count: 200, input: Gen.uint64(), Gen.int(in: 1...3000), Gen.uint32()) {
            seed,
            length,
            start in
            var rng = readingTestGenerator(seed)
            let stream = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var reassembler = TCPStreamReassembler()
            var outputs: [TCPStreamReassembler.Output] = []
            for segment in scrambledTCPSegments(of: stream, start: start, keepFirst: 1, using: &rng) {
                outputs += reassembler.receive(
                    sequenceNumber: segment.sequence,
                    syn: false,
                    fin: false,
                    payload: segment.bytes
                )
            }
            #expect(Self.data(outputs) == stream)
            #expect(reassembler.startedWithoutSYN)
            #expect(reassembler.initialSequenceNumber == nil)
        }
    }

    @Test func wrapsSequenceNumbersAt2To32() {
        var reassembler = TCPStreamReassembler()
        let isn = UInt32.max - 2
        _ = reassembler.receive(sequenceNumber: isn, syn: true, fin: false, payload: [])
        // Octets at UInt32.max − 1, UInt32.max, 0, 1, 2, 3: sent as [2 3] [4 5] out of order, then [0 1].
        var outputs = reassembler.receive(sequenceNumber: 0, syn: false, fin: false, payload: [2, 3])
        outputs += reassembler.receive(sequenceNumber: 2, syn: false, fin: true, payload: [4, 5])
        #expect(outputs.isEmpty)
        outputs += reassembler.receive(sequenceNumber: UInt32.max - 1, syn: false, fin: false, payload: [0, 1])
        #expect(outputs == [.data([0, 1, 2, 3, 4, 5]), .fin])
        #expect(reassembler.nextSequenceNumber == 5)
        #expect(SequenceNumber.distance(from: .max, to: 1) == 2)
        #expect(SequenceNumber.distance(from: 1, to: .max) == -2)
    }

    @Test func keepsTheFirstCopyOfOverlappingData() {
        var reassembler = TCPStreamReassembler()
        _ = reassembler.receive(sequenceNumber: 99, syn: true, fin: false, payload: [])
        var outputs = reassembler.receive(sequenceNumber: 103, syn: false, fin: false, payload: [4, 5, 6])
        // Overlaps the buffered [4 5 6] with different octets: the first copy wins…
        outputs += reassembler.receive(sequenceNumber: 102, syn: false, fin: false, payload: [3, 0xEE, 0xEE, 0xEE, 7])
        // …also over a later copy that arrives in order.
        outputs += reassembler.receive(sequenceNumber: 100, syn: false, fin: false, payload: [1, 2, 0xDD])
        #expect(Self.data(outputs) == [1, 2, 3, 4, 5, 6, 7])
        #expect(reassembler.statistics.duplicateBytes == 4)
        #expect(reassembler.statistics.outOfOrderSegments == 2)
        // A retransmission of delivered data changes nothing.
        #expect(reassembler.receive(sequenceNumber: 100, syn: false, fin: false, payload: [1, 2, 3]) == [])
        #expect(reassembler.statistics.duplicateBytes == 7)
    }

    @Test func givesUpTheOldestHoleWhenTheBufferIsFull() {
        var reassembler = TCPStreamReassembler(maximumBufferedBytes: 0, maximumBufferedSegments: 3)
        _ = reassembler.receive(sequenceNumber: 0, syn: true, fin: false, payload: [])
        // Octets 1…10 are never captured; segments of 10 octets follow from 11 on.
        var outputs: [TCPStreamReassembler.Output] = []
        for index in 1...4 {
            outputs += reassembler.receive(
                sequenceNumber: UInt32(1 + 10 * index),
                syn: false,
                fin: false,
                payload: Array(repeating: UInt8(index), count: 10)
            )
        }
        #expect(
            outputs == [
                .gap(missingBytes: 10),
                .data(
                    Array(repeating: 1, count: 10) + Array(repeating: 2, count: 10) + Array(repeating: 3, count: 10)
                        + Array(repeating: 4, count: 10)
                ),
            ]
        )
        #expect(reassembler.statistics.gaps == 1)
        #expect(reassembler.statistics.gapBytes == 10)
        #expect(reassembler.maximumBufferedBytes == 65535)
    }

    @Test func flushGivesUpEveryHoleAtTheEnd() {
        var reassembler = TCPStreamReassembler()
        _ = reassembler.receive(sequenceNumber: 0, syn: true, fin: false, payload: [])
        _ = reassembler.receive(sequenceNumber: 1, syn: false, fin: false, payload: [1])
        _ = reassembler.receive(sequenceNumber: 4, syn: false, fin: false, payload: [4])
        _ = reassembler.receive(sequenceNumber: 8, syn: false, fin: true, payload: [8])
        #expect(reassembler.flush() == [.gap(missingBytes: 2), .data([4]), .gap(missingBytes: 3), .data([8]), .fin])
        #expect(reassembler.flush() == [])
    }

    @Test func dropsDataBeyondTheFin() {
        var reassembler = TCPStreamReassembler()
        _ = reassembler.receive(sequenceNumber: 0, syn: true, fin: false, payload: [])
        #expect(
            reassembler.receive(sequenceNumber: 1, syn: false, fin: true, payload: [1, 2]) == [.data([1, 2]), .fin]
        )
        #expect(reassembler.receive(sequenceNumber: 3, syn: false, fin: false, payload: [3]) == [])
        #expect(reassembler.receive(sequenceNumber: 1, syn: false, fin: true, payload: [1, 2]) == [])
        #expect(reassembler.statistics.bytesAfterFin == 3)
    }

    // MARK: Through the demultiplexer

    static let client = IPAddress.v4(192, 0, 2, 2)
    static let server = IPAddress.v4(192, 0, 2, 1)
    static let key = TCPConnectionKey(client: client, clientPort: 50000, server: server, serverPort: 1723)

    static func segment(
        toServer: Bool,
        sequence: UInt32,
        flags: TCPFlags,
        payload: [UInt8] = [],
        clientPort: UInt16 = 50000
    ) -> [UInt8] {
        let tcp = CaptureBytes.tcp(
            sourcePort: toServer ? clientPort : 1723,
            destinationPort: toServer ? 1723 : clientPort,
            sequence: sequence,
            flags: flags,
            payload: payload
        )
        return CaptureBytes.ethernet(
            type: 0x0800,
            payload: CaptureBytes.ipv4(
                source: toServer ? client : server,
                destination: toServer ? server : client,
                protocolNumber: 6,
                payload: tcp
            )
        )
    }

    @Test func demultiplexesAShuffledSessionIntoBothStreams() async {
        await propertyCheck(count: 50, input: Gen.uint64()) { seed in
            var rng = readingTestGenerator(seed)
            let request = (0..<Int.random(in: 1...4000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng)
            }
            let reply = (0..<Int.random(in: 1...4000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let clientISN = UInt32.random(in: 0...UInt32.max, using: &rng)
            let serverISN = UInt32.random(in: 0...UInt32.max, using: &rng)
            var frames: [[UInt8]] = [
                Self.segment(toServer: true, sequence: clientISN, flags: .syn),
                Self.segment(toServer: false, sequence: serverISN, flags: [.syn, .ack]),
            ]
            var data = scrambledTCPSegments(of: request, start: clientISN &+ 1, keepFirst: 0, using: &rng).map {
                Self.segment(toServer: true, sequence: $0.sequence, flags: [.ack, .psh], payload: $0.bytes)
            }
            data += scrambledTCPSegments(of: reply, start: serverISN &+ 1, keepFirst: 0, using: &rng).map {
                Self.segment(toServer: false, sequence: $0.sequence, flags: [.ack, .psh], payload: $0.bytes)
            }
            data.shuffle(using: &rng)
            frames += data
            frames.append(
                Self.segment(toServer: true, sequence: clientISN &+ 1 &+ UInt32(request.count), flags: [.fin, .ack])
            )
            frames.append(
                Self.segment(toServer: false, sequence: serverISN &+ 1 &+ UInt32(reply.count), flags: [.fin, .ack])
            )
            frames.append(Self.segment(toServer: true, sequence: clientISN &+ 2 &+ UInt32(request.count), flags: .ack))
            let file = CaptureBytes.pcap(
                linkType: 1,
                records: frames.enumerated().map { (UInt32($0.offset), 0, $0.element) }
            )
            let result = CaptureReader.readAll(file)
            #expect(result.error == nil)
            #expect(result.controlStream(.toServer) == request)
            #expect(result.controlStream(.toClient) == reply)
            #expect(
                result.events.first
                    == .tcpOpened(
                        connection: Self.key,
                        opening: .handshake,
                        frame: 1,
                        time: CaptureTimestamp(seconds: 0, nanoseconds: 0)
                    )
            )
            let count = frames.count
            #expect(
                Array(result.events.suffix(3)) == [
                    .tcpHalfClosed(
                        connection: Self.key,
                        direction: .toClient,
                        frame: count - 1,
                        time: CaptureTimestamp(seconds: Int64(count - 2), nanoseconds: 0)
                    ),
                    .tcpClosed(
                        connection: Self.key,
                        reason: .fin,
                        frame: count - 1,
                        time: CaptureTimestamp(seconds: Int64(count - 2), nanoseconds: 0)
                    ),
                    // The last ACK arrives after the close: counted, skipped.
                    .diagnostic(
                        .skipped(.tcpAfterClose),
                        frame: count,
                        time: CaptureTimestamp(seconds: Int64(count - 1), nanoseconds: 0)
                    ),
                ]
            )
            #expect(result.statistics.tcp.bytesToServer == request.count)
            #expect(result.statistics.tcp.bytesToClient == reply.count)
            #expect(result.statistics.tcp.segmentsAfterClose == 1)
        }
    }

    @Test func followsAConnectionWhoseHandshakeWasNotCaptured() {
        let frames = [
            Self.segment(toServer: false, sequence: 5000, flags: [.ack, .psh], payload: [9, 9]),
            Self.segment(toServer: true, sequence: 7000, flags: [.ack, .psh], payload: [1, 2, 3]),
            Self.segment(toServer: false, sequence: 5002, flags: [.ack, .rst]),
        ]
        let result = CaptureReader.readAll(CaptureBytes.pcap(linkType: 1, records: frames.map { (1, 0, $0) }))
        let time = CaptureTimestamp(seconds: 1, nanoseconds: 0)
        #expect(
            result.events == [
                .tcpOpened(connection: Self.key, opening: .midStream, frame: 1, time: time),
                .controlData(connection: Self.key, direction: .toClient, bytes: [9, 9], frame: 1, time: time),
                .controlData(connection: Self.key, direction: .toServer, bytes: [1, 2, 3], frame: 2, time: time),
                .tcpClosed(connection: Self.key, reason: .reset, frame: 3, time: time),
            ]
        )
    }

    @Test func opensANewConnectionWhenASYNReusesThePorts() {
        let frames = [
            Self.segment(toServer: true, sequence: 100, flags: .syn),
            Self.segment(toServer: true, sequence: 101, flags: .ack, payload: [1]),
            Self.segment(toServer: true, sequence: 100, flags: .syn),  // retransmitted SYN: same connection
            Self.segment(toServer: true, sequence: 9000, flags: .syn),  // a new ISN: a new connection
            Self.segment(toServer: true, sequence: 9001, flags: .ack, payload: [2]),
        ]
        let result = CaptureReader.readAll(CaptureBytes.pcap(linkType: 1, records: frames.map { (0, 0, $0) }))
        let summary = result.events.map { event -> String in
            switch event {
            case .tcpOpened(_, let opening, let frame, _): "opened \(opening) @\(frame)"
            case .controlData(_, _, let bytes, let frame, _): "data \(bytes) @\(frame)"
            case .tcpClosed(_, let reason, let frame, _): "closed \(reason) @\(frame)"
            default: "\(event)"
            }
        }
        #expect(
            summary == [
                "opened handshake @1", "data [1] @2", "closed replaced @4", "opened handshake @4", "data [2] @5",
                "closed endOfCapture @5",
            ]
        )
        #expect(result.statistics.tcp.connections == 2)
    }

    @Test func followsOnlyTheConfiguredPorts() {
        let frames = [
            Self.segment(toServer: true, sequence: 1, flags: .syn, clientPort: 40000),
            CaptureBytes.ethernet(
                type: 0x0800,
                payload: CaptureBytes.ipv4(
                    protocolNumber: 6,
                    payload: CaptureBytes.tcp(sourcePort: 40001, destinationPort: 80, sequence: 1, flags: .syn)
                )
            ),
        ]
        let file = CaptureBytes.pcap(linkType: 1, records: frames.map { (0, 0, $0) })
        let standard = CaptureReader.readAll(file)
        #expect(standard.statistics.tcp.controlSegments == 1)
        #expect(standard.statistics.tcp.otherSegments == 1)
        #expect(standard.diagnostics == [.skipped(.tcpNotOnControlPort(sourcePort: 40001, destinationPort: 80))])
        var configuration = CaptureConfiguration()
        configuration.controlPorts = [80]
        let custom = CaptureReader.readAll(file, configuration: configuration)
        #expect(custom.statistics.tcp.controlSegments == 1)
        #expect(custom.statistics.tcp.connections == 1)
    }

    @Test func evictsTheLeastRecentlyActiveConnectionWhenTheTableIsFull() {
        var configuration = CaptureConfiguration()
        configuration.maximumConnections = 2
        let frames = (0..<3).map {
            Self.segment(toServer: true, sequence: 1, flags: .syn, clientPort: 50000 + UInt16($0))
        }
        let result = CaptureReader.readAll(
            CaptureBytes.pcap(linkType: 1, records: frames.map { (0, 0, $0) }),
            configuration: configuration
        )
        let closes = result.events.compactMap { event -> (UInt16, TCPCloseReason)? in
            if case .tcpClosed(let key, let reason, _, _) = event { return (key.clientPort, reason) }
            return nil
        }
        #expect(closes.map(\.0) == [50000, 50001, 50002])
        #expect(closes.map(\.1) == [.evicted, .endOfCapture, .endOfCapture])
    }

    static func data(_ outputs: [TCPStreamReassembler.Output]) -> [UInt8] {
        outputs.flatMap { output -> [UInt8] in
            if case .data(let bytes) = output { return bytes }
            return []
        }
    }
}

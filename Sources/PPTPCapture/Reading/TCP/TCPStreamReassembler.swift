/// Reassembles one direction of a TCP connection into the in-order byte stream (RFC 9293 §3.4, §3.10.7.4).
///
/// Handles retransmissions and overlaps (data already delivered or already buffered is counted and dropped; the
/// copy seen first wins), out-of-order segments (buffered up to `maximumBufferedBytes` octets and
/// `maximumBufferedSegments` segments, after which the oldest hole is given up and reported as a gap), SYN and FIN
/// (each occupying one sequence number), sequence numbers wrapping at 2^32, and a stream whose SYN was not
/// captured (it starts at the first sequence number seen).
public struct TCPStreamReassembler: Sendable {
    /// What the stream produced in response to one segment, in stream order.
    public enum Output: Hashable, Sendable {
        /// Octets that are now in order, following everything output before.
        case data([UInt8])
        /// Octets that were given up: the stream continues `missingBytes` octets further on.
        case gap(missingBytes: Int)
        /// The sender's FIN is now in order: the stream has ended.
        case fin
    }

    /// Counters of one stream.
    public struct Statistics: Hashable, Sendable {
        /// Octets output as `.data`.
        public var deliveredBytes = 0
        /// Octets received again (retransmissions, overlaps) and dropped.
        public var duplicateBytes = 0
        /// Segments that arrived ahead of a hole and had to be buffered.
        public var outOfOrderSegments = 0
        /// Holes given up.
        public var gaps = 0
        /// Octets missing in the holes given up.
        public var gapBytes = 0
        /// Octets that arrived beyond the FIN and were dropped.
        public var bytesAfterFin = 0

        /// Creates zeroed counters.
        public init() {}
    }

    /// The most octets held out of order before the oldest hole is given up.
    public let maximumBufferedBytes: Int
    /// The most segments held out of order before the oldest hole is given up.
    public let maximumBufferedSegments: Int
    /// The sender's initial sequence number, when its SYN was seen.
    public private(set) var initialSequenceNumber: UInt32?
    /// The sequence number of the next octet expected in order; `nil` before the first segment.
    public private(set) var nextSequenceNumber: UInt32?
    /// `true` when the stream started from a segment other than the SYN (a capture started mid-connection).
    public private(set) var startedWithoutSYN = false
    /// `true` once the FIN has been output.
    public private(set) var isFinished = false
    /// Octets currently held out of order.
    public private(set) var bufferedBytes = 0
    /// Counters so far.
    public private(set) var statistics = Statistics()

    private var pending: [PendingSegment] = []
    private var finSequenceNumber: UInt32?

    private struct PendingSegment: Sendable {
        var start: UInt32
        var bytes: ArraySlice<UInt8>
    }

    /// Creates a stream. The byte limit is raised to at least 65 535 so that one maximum-size segment always fits.
    public init(maximumBufferedBytes: Int = 1 << 20, maximumBufferedSegments: Int = 1024) {
        self.maximumBufferedBytes = max(maximumBufferedBytes, 65535)
        self.maximumBufferedSegments = max(maximumBufferedSegments, 1)
    }

    /// The number of segments currently held out of order.
    public var bufferedSegments: Int { pending.count }

    /// Takes one segment of this direction and returns what became in order.
    public mutating func receive(sequenceNumber: UInt32, syn: Bool, fin: Bool, payload: [UInt8]) -> [Output] {
        var sequence = sequenceNumber
        if syn {
            if nextSequenceNumber == nil {
                initialSequenceNumber = sequence
                nextSequenceNumber = sequence &+ 1
            }
            // The SYN occupies one sequence number; any data follows it (RFC 9293 §3.4).
            sequence = sequence &+ 1
        }
        if nextSequenceNumber == nil {
            nextSequenceNumber = sequence
            startedWithoutSYN = true
        }
        if isFinished {
            statistics.bytesAfterFin += payload.count
            return []
        }
        var data = payload[...]
        if fin, finSequenceNumber == nil {
            finSequenceNumber = sequence &+ UInt32(truncatingIfNeeded: data.count)
        }
        if let finSequence = finSequenceNumber {
            let room = SequenceNumber.distance(from: sequence, to: finSequence)
            if room < Int64(data.count) {
                let kept = Int(max(0, room))
                statistics.bytesAfterFin += data.count - kept
                data = data.prefix(kept)
            }
        }

        var output = OutputBuilder()
        if !data.isEmpty {
            let next = nextSequenceNumber ?? sequence
            let offset = SequenceNumber.distance(from: next, to: sequence)
            if offset + Int64(data.count) <= 0 {
                statistics.duplicateBytes += data.count
            } else {
                // Everything goes through the buffer, so that octets held out of order keep precedence over a
                // later copy even when that copy arrives in order.
                let delivered = Int(max(0, -offset))
                statistics.duplicateBytes += delivered
                if offset > 0 { statistics.outOfOrderSegments += 1 }
                buffer(start: sequence &+ UInt32(truncatingIfNeeded: delivered), bytes: data.dropFirst(delivered))
            }
        }
        drain(into: &output)
        checkFin(into: &output)
        while !isFinished, bufferedBytes > maximumBufferedBytes || pending.count > maximumBufferedSegments {
            skipToFirstPending(into: &output)
            drain(into: &output)
            checkFin(into: &output)
        }
        return output.finish()
    }

    /// Gives up every hole (at the end of the capture, or when the connection is reset) and returns the buffered
    /// data after them.
    public mutating func flush() -> [Output] {
        var output = OutputBuilder()
        // Each iteration removes at least one pending segment, so this loop ends.
        while !isFinished, !pending.isEmpty {
            skipToFirstPending(into: &output)
            drain(into: &output)
            checkFin(into: &output)
        }
        pending.removeAll()
        bufferedBytes = 0
        return output.finish()
    }

    // MARK: Internals

    /// Collects consecutive data into one `.data` output.
    private struct OutputBuilder {
        var outputs: [Output] = []
        var data: [UInt8] = []

        mutating func append(_ bytes: ArraySlice<UInt8>) { data.append(contentsOf: bytes) }

        mutating func append(_ output: Output) {
            if !data.isEmpty {
                outputs.append(.data(data))
                data = []
            }
            outputs.append(output)
        }

        consuming func finish() -> [Output] {
            if !data.isEmpty { outputs.append(.data(data)) }
            return outputs
        }
    }

    private mutating func deliver(_ bytes: ArraySlice<UInt8>, into output: inout OutputBuilder) {
        guard !bytes.isEmpty, let next = nextSequenceNumber else { return }
        output.append(bytes)
        statistics.deliveredBytes += bytes.count
        nextSequenceNumber = next &+ UInt32(truncatingIfNeeded: bytes.count)
    }

    /// Delivers buffered segments that the in-order point has reached.
    private mutating func drain(into output: inout OutputBuilder) {
        while let first = pending.first, let next = nextSequenceNumber {
            let offset = SequenceNumber.distance(from: next, to: first.start)
            guard offset <= 0 else { return }
            pending.removeFirst()
            bufferedBytes -= first.bytes.count
            let overlap = Int(min(-offset, Int64(first.bytes.count)))
            statistics.duplicateBytes += overlap
            deliver(first.bytes.dropFirst(overlap), into: &output)
        }
    }

    /// Outputs the FIN once every octet before it has been delivered.
    private mutating func checkFin(into output: inout OutputBuilder) {
        guard !isFinished, let finSequence = finSequenceNumber, let next = nextSequenceNumber,
            SequenceNumber.distance(from: next, to: finSequence) <= 0
        else { return }
        isFinished = true
        nextSequenceNumber = finSequence &+ 1
        for segment in pending { statistics.bytesAfterFin += segment.bytes.count }
        pending.removeAll()
        bufferedBytes = 0
        output.append(.fin)
    }

    /// Gives up the hole in front of the first buffered segment.
    private mutating func skipToFirstPending(into output: inout OutputBuilder) {
        guard let first = pending.first, let next = nextSequenceNumber else { return }
        let missing = SequenceNumber.distance(from: next, to: first.start)
        guard missing > 0 else { return }
        statistics.gaps += 1
        statistics.gapBytes += Int(missing)
        output.append(.gap(missingBytes: Int(missing)))
        nextSequenceNumber = first.start
    }

    /// Stores the parts of a segment that no buffered segment holds yet, keeping `pending` sorted.
    private mutating func buffer(start: UInt32, bytes: ArraySlice<UInt8>) {
        guard let base = nextSequenceNumber else { return }
        // Offsets relative to the in-order point: all buffered data lies within 2^31 ahead of it.
        var pieces: [(offset: Int64, bytes: ArraySlice<UInt8>)] = [
            (SequenceNumber.distance(from: base, to: start), bytes)
        ]
        for existing in pending {
            let existingStart = SequenceNumber.distance(from: base, to: existing.start)
            let existingEnd = existingStart + Int64(existing.bytes.count)
            var remaining: [(offset: Int64, bytes: ArraySlice<UInt8>)] = []
            for piece in pieces {
                let pieceEnd = piece.offset + Int64(piece.bytes.count)
                guard pieceEnd > existingStart, piece.offset < existingEnd else {
                    remaining.append(piece)
                    continue
                }
                if piece.offset < existingStart {
                    remaining.append((piece.offset, piece.bytes.prefix(Int(existingStart - piece.offset))))
                }
                if pieceEnd > existingEnd {
                    remaining.append((existingEnd, piece.bytes.suffix(Int(pieceEnd - existingEnd))))
                }
                statistics.duplicateBytes += Int(min(pieceEnd, existingEnd) - max(piece.offset, existingStart))
            }
            pieces = remaining
        }
        for piece in pieces where !piece.bytes.isEmpty {
            pending.append(PendingSegment(start: base &+ UInt32(truncatingIfNeeded: piece.offset), bytes: piece.bytes))
            bufferedBytes += piece.bytes.count
        }
        pending.sort {
            SequenceNumber.distance(from: base, to: $0.start) < SequenceNumber.distance(from: base, to: $1.start)
        }
    }
}

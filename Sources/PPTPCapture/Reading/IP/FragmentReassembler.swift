import NIOCore

/// Limits of IP fragment reassembly.
public struct FragmentReassemblyConfiguration: Hashable, Sendable {
    /// The most datagrams under reassembly at once; a new one beyond this evicts the oldest.
    public var maximumDatagramsInProgress: Int
    /// How long, in capture time, a datagram may wait for its missing fragments. RFC 791 §3.2 suggests a timer
    /// of about 15 seconds, RFC 8200 §4.5 60 seconds; Linux uses 30.
    public var timeout: Duration
    /// The largest reassembled payload accepted, in octets (IPv4: Total Length is 16 bits, RFC 791 §3.1).
    public var maximumDatagramSize: Int

    /// Creates a configuration; the defaults hold 256 datagrams for 30 seconds of capture time.
    public init(
        maximumDatagramsInProgress: Int = 256,
        timeout: Duration = .seconds(30),
        maximumDatagramSize: Int = 65535
    ) {
        self.maximumDatagramsInProgress = max(1, maximumDatagramsInProgress)
        self.timeout = timeout
        self.maximumDatagramSize = max(0, maximumDatagramSize)
    }
}

/// Identifies the fragments of one datagram: RFC 791 §3.2 (source, destination, protocol, identification) for
/// IPv4, RFC 8200 §4.5 (source, destination, identification) for IPv6.
public struct FragmentKey: Hashable, Sendable {
    /// Source address.
    public var source: IPAddress
    /// Destination address.
    public var destination: IPAddress
    /// The IPv4 Protocol field; `nil` for IPv6, whose key does not include it.
    public var ipv4Protocol: IPProtocol?
    /// The Identification field (16 bits for IPv4, 32 bits for IPv6).
    public var identification: UInt32

    /// Creates a key.
    public init(source: IPAddress, destination: IPAddress, ipv4Protocol: IPProtocol?, identification: UInt32) {
        self.source = source
        self.destination = destination
        self.ipv4Protocol = ipv4Protocol
        self.identification = identification
    }

    /// `true` for IPv6 fragments.
    public var isIPv6: Bool { !source.isIPv4 }
}

/// Why a datagram under reassembly was given up.
public enum FragmentAbandonReason: Hashable, Sendable {
    /// Its fragments did not all arrive within `FragmentReassemblyConfiguration.timeout` of the first.
    case timedOut
    /// Too many datagrams were under reassembly; this was the oldest.
    case evicted
    /// A fragment reached beyond `maximumDatagramSize`.
    case tooLarge(end: Int)
    /// An IPv6 fragment overlapped another with different extent or data (RFC 8200 §4.5, RFC 5722).
    case overlap
    /// Two last fragments disagree on the length, or data lies beyond the last fragment's end.
    case inconsistentLength(end: Int)
    /// The capture ended before the datagram was complete.
    case captureEnded
}

/// A datagram whose fragments have all arrived, joined into one payload.
public struct ReassembledDatagram: Hashable, Sendable {
    /// The fragments' key.
    public var key: FragmentKey
    /// The upper-layer protocol: the IPv4 Protocol field, or the Next Header of the first IPv6 fragment.
    public var payloadProtocol: IPProtocol
    /// The joined payload (for IPv6: the fragmentable part, which may start with more extension headers).
    public var payload: ByteBuffer
    /// The frames that carried a fragment used in the datagram, in arrival order.
    public var frames: [Int]
}

/// A datagram given up before completion.
public struct AbandonedDatagram: Hashable, Sendable {
    /// The fragments' key.
    public var key: FragmentKey
    /// Why it was given up.
    public var reason: FragmentAbandonReason
    /// The frames that carried its fragments, in arrival order.
    public var frames: [Int]
}

/// What reassembly did with one fragment.
public enum FragmentOutcome: Hashable, Sendable {
    /// The fragment was stored; the datagram still misses data.
    case held
    /// The fragment completed its datagram.
    case reassembled(ReassembledDatagram)
    /// The fragment repeated data already held and was dropped (RFC 8200 §4.5 allows dropping exact duplicates).
    case duplicate
    /// The datagram was given up because of this fragment.
    case abandoned(AbandonedDatagram)
}

/// Counters of fragment reassembly.
public struct FragmentStatistics: Hashable, Sendable {
    /// Fragments received.
    public var fragments = 0
    /// Datagrams completed.
    public var datagramsReassembled = 0
    /// Fragments dropped as exact duplicates.
    public var duplicateFragments = 0
    /// IPv4 fragments that overlapped data already held (the data held first was kept).
    public var overlappingFragments = 0
    /// Datagrams given up: timed out, evicted, too large, overlapping (IPv6) or inconsistent.
    public var datagramsAbandoned = 0
    /// Datagrams still incomplete when the capture ended.
    public var datagramsIncompleteAtEnd = 0

    /// Creates zeroed counters.
    public init() {}
}

/// Bounded IPv4 and IPv6 fragment reassembly, driven by capture time (RFC 791 §3.2, RFC 8200 §4.5, RFC 815).
///
/// Fragments may come in any order. Exact duplicates are dropped. For IPv4, bytes that overlap data already held
/// keep the data held first; for IPv6, any other overlap abandons the datagram (RFC 5722). At most
/// `maximumDatagramsInProgress` datagrams are held, each at most `maximumDatagramSize` octets, each for at most
/// `timeout` of capture time.
public struct FragmentReassembler: Sendable {
    /// The limits in force.
    public let configuration: FragmentReassemblyConfiguration
    /// Counters so far.
    public private(set) var statistics = FragmentStatistics()

    private var partials: [FragmentKey: Partial] = [:]
    private var arrivals = 0

    /// One datagram under reassembly.
    private struct Partial: Sendable {
        var data: [UInt8] = []
        /// Octet ranges held, sorted and merged.
        var held: [Range<Int>] = []
        /// The payload length, known once the last fragment (MF clear) has arrived.
        var totalLength: Int?
        var payloadProtocol: IPProtocol?
        var frames: [Int] = []
        var firstSeen: CaptureTimestamp
        /// Arrival order, to evict the oldest deterministically.
        var sequence: Int
    }

    /// Creates a reassembler with `configuration`.
    public init(configuration: FragmentReassemblyConfiguration = .init()) {
        self.configuration = configuration
    }

    /// The number of datagrams under reassembly.
    public var datagramsInProgress: Int { partials.count }

    /// Adds one fragment.
    ///
    /// - Parameters:
    ///   - offset: the fragment's offset in octets.
    ///   - payloadProtocol: the IPv4 Protocol, or for IPv6 the Fragment header's Next Header (used from the
    ///     fragment at offset 0, RFC 8200 §4.5).
    ///   - time: the capture time of the frame, for the timeout.
    /// - Returns: the outcome, plus any datagrams that timed out or were evicted to make room.
    public mutating func receive(
        key: FragmentKey,
        offset: Int,
        moreFragments: Bool,
        payloadProtocol: IPProtocol,
        data: ByteBuffer,
        frame: Int,
        time: CaptureTimestamp
    ) -> (outcome: FragmentOutcome, expired: [AbandonedDatagram]) {
        statistics.fragments += 1
        var expired = expire(now: time)
        let length = data.readableBytes
        let end = offset + length

        if partials[key] == nil, partials.count >= configuration.maximumDatagramsInProgress,
            let oldest = partials.min(by: { $0.value.sequence < $1.value.sequence })
        {
            expired.append(abandon(oldest.key, reason: .evicted))
        }
        arrivals += 1
        var partial = partials[key] ?? Partial(firstSeen: time, sequence: arrivals)
        partial.frames.append(frame)
        partials[key] = partial

        guard end <= configuration.maximumDatagramSize else {
            return (.abandoned(abandon(key, reason: .tooLarge(end: end))), expired)
        }
        // The last fragment fixes the length; it must agree with every other fragment (RFC 815 §3).
        if !moreFragments {
            if let known = partial.totalLength, known != end {
                return (.abandoned(abandon(key, reason: .inconsistentLength(end: end))), expired)
            }
            if let last = partial.held.last, last.upperBound > end {
                return (.abandoned(abandon(key, reason: .inconsistentLength(end: end))), expired)
            }
            partial.totalLength = end
        } else if let known = partial.totalLength, end > known {
            return (.abandoned(abandon(key, reason: .inconsistentLength(end: end))), expired)
        }
        if offset == 0 || key.ipv4Protocol != nil {
            partial.payloadProtocol = partial.payloadProtocol ?? payloadProtocol
        }

        let bytes = Array(data.readableBytesView)
        let overlaps = partial.held.filter { $0.overlaps(offset..<end) }
        if !overlaps.isEmpty {
            let covered = overlaps.count == 1 && overlaps[0].lowerBound <= offset && overlaps[0].upperBound >= end
            let same = covered && partial.data[offset..<end].elementsEqual(bytes)
            if same {
                // RFC 8200 §4.5: exact duplicates may be dropped while keeping the other fragments.
                partial.frames.removeLast()
                partials[key] = partial
                statistics.duplicateFragments += 1
                return (.duplicate, expired)
            }
            if key.isIPv6 {
                // RFC 8200 §4.5 (RFC 5722): overlapping fragments abandon the whole packet.
                return (.abandoned(abandon(key, reason: .overlap)), expired)
            }
            statistics.overlappingFragments += 1
        }

        // Copy only the octets not held yet, so that the data held first wins.
        if partial.data.count < end {
            partial.data.append(contentsOf: repeatElement(0, count: end - partial.data.count))
        }
        var position = offset
        for range in overlaps + [end..<end] {
            if position < range.lowerBound {
                let upper = min(range.lowerBound, end)
                partial.data.replaceSubrange(position..<upper, with: bytes[(position - offset)..<(upper - offset)])
            }
            position = max(position, range.upperBound)
        }
        partial.held = Self.merge(partial.held, with: offset..<end)

        guard let total = partial.totalLength, partial.held == [0..<total] || (total == 0 && partial.held.isEmpty)
        else {
            partials[key] = partial
            return (.held, expired)
        }
        partials[key] = nil
        statistics.datagramsReassembled += 1
        let datagram = ReassembledDatagram(
            key: key,
            payloadProtocol: partial.payloadProtocol ?? payloadProtocol,
            payload: ByteBuffer(bytes: partial.data.prefix(total)),
            frames: partial.frames
        )
        return (.reassembled(datagram), expired)
    }

    /// Gives up every datagram whose first fragment is older than the timeout at capture time `now`.
    public mutating func expire(now: CaptureTimestamp) -> [AbandonedDatagram] {
        guard !partials.isEmpty else { return [] }
        let stale = partials.filter { $0.value.firstSeen.advanced(by: configuration.timeout) < now }
        return stale.sorted { $0.value.sequence < $1.value.sequence }.map { abandon($0.key, reason: .timedOut) }
    }

    /// Ends reassembly at the end of the capture: every datagram still incomplete is returned and counted.
    public mutating func finish() -> [AbandonedDatagram] {
        let remaining = partials.sorted { $0.value.sequence < $1.value.sequence }
        statistics.datagramsIncompleteAtEnd += remaining.count
        partials.removeAll()
        return remaining.map { AbandonedDatagram(key: $0.key, reason: .captureEnded, frames: $0.value.frames) }
    }

    private mutating func abandon(_ key: FragmentKey, reason: FragmentAbandonReason) -> AbandonedDatagram {
        let frames = partials.removeValue(forKey: key)?.frames ?? []
        statistics.datagramsAbandoned += 1
        return AbandonedDatagram(key: key, reason: reason, frames: frames)
    }

    /// Inserts `range` into sorted, merged `ranges`, merging adjacent and overlapping ranges.
    private static func merge(_ ranges: [Range<Int>], with range: Range<Int>) -> [Range<Int>] {
        guard !range.isEmpty else { return ranges }
        var result: [Range<Int>] = []
        var current = range
        var inserted = false
        for existing in ranges {
            if existing.upperBound < current.lowerBound {
                result.append(existing)
            } else if current.upperBound < existing.lowerBound {
                if !inserted {
                    result.append(current)
                    inserted = true
                }
                result.append(existing)
            } else {
                current = min(existing.lowerBound, current.lowerBound)..<max(existing.upperBound, current.upperBound)
            }
        }
        if !inserted { result.append(current) }
        return result
    }
}

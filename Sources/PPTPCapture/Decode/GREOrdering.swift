import NIOCore
import PPP
import PPTP

/// Counts GRE sequence numbers of one direction as they arrive (RFC 2637 §4.3): gaps, reordering, duplicates.
struct GRESequenceTracker: Sendable {
    private(set) var report = GRESequenceReport()
    private var missing: Set<UInt32> = []
    /// Gaps larger than this are not tracked number by number (a restart, or a corrupt header).
    private let largestTrackedGap: Int64 = 4096

    mutating func observe(sequence: UInt32?, acknowledgment: UInt32?) {
        if let acknowledgment {
            if let highest = report.highestAcknowledgment {
                if Self.distance(from: highest, to: acknowledgment) > 0 {
                    report.highestAcknowledgment = acknowledgment
                }
            } else {
                report.highestAcknowledgment = acknowledgment
            }
        }
        guard let sequence else { return }
        guard let highest = report.highest else {
            report.first = sequence
            report.highest = sequence
            return
        }
        let distance = Self.distance(from: highest, to: sequence)
        if distance > 0 {
            if distance - 1 <= largestTrackedGap {
                var number = highest &+ 1
                while number != sequence {
                    missing.insert(number)
                    number &+= 1
                }
            }
            report.highest = sequence
        } else if distance == 0 {
            report.duplicates += 1
        } else if missing.remove(sequence) != nil {
            report.reordered += 1
        } else {
            report.duplicates += 1
        }
        report.missing = missing.count
    }

    /// Serial-number distance (RFC 1982): negative when `to` is before `from`.
    static func distance(from: UInt32, to: UInt32) -> Int64 {
        Int64(Int32(bitPattern: to &- from))
    }
}

/// A GRE data packet waiting in a `ReorderBuffer`.
struct HeldGREPacket: Sendable {
    var header: GREHeader
    var payload: ByteBuffer
    var frame: Int
    var time: CaptureTimestamp
}

/// Puts the GRE packets of one direction back into sequence order before PPP sees them, as a PPTP receiver does
/// (RFC 2637 §4.3: "the receiver may choose to buffer out of order packets"; pptpd holds them), with the same
/// `GRESequencer` the tunnels use: a gap is waited for until `window` packets are held or the oldest has waited
/// `timeout` of capture time; then it is given up. Unlike a receiver, the analyser passes late and duplicate
/// packets on (to report them, and so that the MPPE decryptor can still decrypt a late one from its key cache),
/// and every packet counts as valid.
struct ReorderBuffer: Sendable {
    private var sequencer: GRESequencer<HeldGREPacket>
    private let passThrough: Bool

    init(window: Int, timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let timeoutNanoseconds =
            nanoseconds.overflow ? Int64.max / 4 : nanoseconds.partialValue + attoseconds / 1_000_000_000
        sequencer = GRESequencer(
            configuration: GRESequencerConfiguration(
                // Any distance may wait behind a gap: a capture has no forgeries to fear.
                reorderWindow: Int(Int32.max),
                reorderTimeout: .nanoseconds(max(0, min(timeoutNanoseconds, Int64.max / 4))),
                reorderCapacity: max(0, window)
            ),
            peerWindow: 0
        )
        passThrough = window <= 0
    }

    /// Adds a data packet and returns the packets now ready, in order.
    mutating func push(_ packet: HeldGREPacket) -> [HeldGREPacket] {
        guard let sequence = packet.header.sequenceNumber, !passThrough else { return [packet] }
        let now = Self.deadline(packet.time)
        var ready: [HeldGREPacket] = []
        switch sequencer.receive(sequence: sequence, now: now) {
        case .process:
            sequencer.commit(sequence, now: now)
            ready.append(packet)
        case .hold:
            sequencer.hold(packet)
        case .drop:
            // Older than what was released already (a duplicate, or a packet given up on): pass it on, the
            // MPPE decryptor decides what can be done with it.
            ready.append(packet)
        }
        drain(now: now, into: &ready)
        return ready
    }

    /// Everything still held, in order (end of capture).
    mutating func flush() -> [HeldGREPacket] {
        var ready: [HeldGREPacket] = []
        drain(now: .distantFuture, into: &ready)
        return ready
    }

    private mutating func drain(now: NIODeadline, into ready: inout [HeldGREPacket]) {
        while let released = sequencer.nextReleased(now: now) {
            sequencer.commit(released.sequence, now: now)
            ready.append(released.payload)
        }
    }

    /// Capture time on the sequencer's clock (clamped: a hostile capture may carry any time at all).
    static func deadline(_ time: CaptureTimestamp) -> NIODeadline {
        let limit: Int64 = Int64.max / 4
        guard time.seconds > 0 else { return .uptimeNanoseconds(0) }
        guard time.seconds < limit / 1_000_000_000 else { return .uptimeNanoseconds(UInt64(limit)) }
        return .uptimeNanoseconds(UInt64(time.seconds) * 1_000_000_000 + UInt64(time.nanoseconds))
    }
}

import NIOCore

/// Counters of one call's GRE (beyond its sequencing, `GRECounters`).
public struct GRECallCounters: Hashable, Sendable {
    /// GRE packets accepted for this call (data and acknowledgments): zero after a while means the
    /// peer's GRE does not reach us (a firewall or NAT without a PPTP helper).
    public var received = 0
    /// GRE packets that did not parse.
    public var malformed = 0
    /// GRE packets for another Call ID (the demultiplexer should not let them through).
    public var wrongCallID = 0
    public init() {}
}

/// A GRE data packet for this call, checked, not yet sequenced.
public struct GREDataPacket: Hashable, Sendable {
    public var sequence: UInt32
    public var acknowledgment: UInt32?
    /// Where the PPP frame lies in the buffer.
    public var frame: Range<Int>
}

/// The GRE half of a call (RFC 2637 §4): its header, Call IDs and sequencing, without PPP. A
/// `TunnelSession` adds the PPP termination on top; a relay carries frames between a line and
/// GRE with this alone.
public struct GRECall: Sendable {
    public let call: CallInformation
    public internal(set) var sequencer: GRESequencer<[UInt8]>
    public private(set) var counters = GRECallCounters()

    public init(call: CallInformation, configuration: GRESequencerConfiguration) {
        self.call = call
        self.sequencer = GRESequencer(
            configuration: configuration,
            peerWindow: call.peerWindow,
            peerProcessingDelay: call.peerProcessingDelay
        )
    }

    /// A GRE packet from the peer (the IP payload of protocol 47). Returns its data part, or nil
    /// when it is not one: malformed or for another call (counted), or acknowledgment only, whose
    /// acknowledgment is applied here (nothing to check it against, and it can only move our send
    /// window within what we sent: `receiveAcknowledgment` ignores anything beyond).
    public mutating func accept(_ buffer: UnsafeRawBufferPointer, now: NIODeadline) -> GREDataPacket? {
        let header: GREHeader
        do {
            header = try GREHeader.parse(buffer)
        } catch {
            counters.malformed += 1
            return nil
        }
        guard header.callID == call.callID else {
            counters.wrongCallID += 1
            return nil
        }
        counters.received &+= 1
        guard let sequence = header.sequenceNumber else {
            if let ack = header.acknowledgmentNumber { sequencer.receiveAcknowledgment(ack, now: now) }
            return nil
        }
        return GREDataPacket(
            sequence: sequence,
            acknowledgment: header.acknowledgmentNumber,
            frame: header.encodedLength..<(header.encodedLength + Int(header.payloadLength))
        )
    }

    /// Numbers the PPP frame in `buffer[frame]` and writes the GRE header in front of it (the
    /// caller leaves `GREHeader.maximumLength` octets). Nil when the peer's window is full (RFC 2637
    /// §4.2.4; counted). Control frames pass `ignoringWindow`, so negotiation never stalls behind data.
    public mutating func encapsulate(
        _ buffer: UnsafeMutableRawBufferPointer,
        frame: Range<Int>,
        ignoringWindow: Bool = false,
        now: NIODeadline
    ) -> Range<Int>? {
        // Room for the largest header first, so that no sequence number is spent on a packet never sent.
        guard frame.lowerBound >= GREHeader.maximumLength else { return nil }
        let numbers: (sequence: UInt32, acknowledgment: UInt32?)
        if ignoringWindow {
            numbers = sequencer.sequenceNextPacketIgnoringWindow(now: now)
        } else {
            guard let next = sequencer.sequenceNextPacket(now: now) else { return nil }
            numbers = next
        }
        let header = GREHeader(
            payloadLength: UInt16(truncatingIfNeeded: frame.count),
            callID: call.peerCallID,
            sequenceNumber: numbers.sequence,
            acknowledgmentNumber: numbers.acknowledgment
        )
        let start = frame.lowerBound - header.encodedLength
        header.write(to: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<frame.lowerBound]))
        return start..<frame.upperBound
    }

    /// A control frame as a GRE data packet of its own (a buffer allocated for it: control frames
    /// are rare).
    public mutating func packet(carrying payload: ByteBuffer, now: NIODeadline) -> ByteBuffer {
        let numbers = sequencer.sequenceNextPacketIgnoringWindow(now: now)
        let header = GREHeader(
            payloadLength: UInt16(truncatingIfNeeded: payload.readableBytes),
            callID: call.peerCallID,
            sequenceNumber: numbers.sequence,
            acknowledgmentNumber: numbers.acknowledgment
        )
        var buffer = ByteBuffer()
        buffer.reserveCapacity(header.encodedLength + payload.readableBytes)
        GREPacket(header: header, payload: payload).write(to: &buffer)
        return buffer
    }

    /// The header of an acknowledgment-only packet for `ack` (12 octets, nothing follows it).
    public func acknowledgmentHeader(_ ack: UInt32) -> GREHeader {
        // RFC 2637 §4.1: an acknowledgment-only packet has A set, S clear, payload length 0.
        GREHeader(payloadLength: 0, callID: call.peerCallID, acknowledgmentNumber: ack)
    }

    /// An acknowledgment-only packet for `ack`.
    public func acknowledgmentPacket(_ ack: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        acknowledgmentHeader(ack).write(to: &buffer)
        return buffer
    }

    /// The acknowledgment to send at once, if one is due after the packets received so far (the
    /// sequencer's threshold, RFC 2637 §4.4); it counts as sent.
    public mutating func takeDueAcknowledgment() -> UInt32? {
        guard sequencer.shouldAcknowledgeNow, let ack = sequencer.takeAcknowledgment() else { return nil }
        sequencer.countAcknowledgmentSent()
        return ack
    }
}

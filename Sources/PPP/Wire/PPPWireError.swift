/// Everything that can be wrong with PPP bytes from the wire (RFC 1661, RFC 1662 and the
/// control protocols carried in PPP). One closed enum for the target, used with typed throws;
/// payloads are numbers a log line can use.
public enum PPPWireError: Error, Hashable, Sendable {
    /// Fewer octets than a field needs.
    case truncated(needed: Int, available: Int)
    /// A protocol field whose value breaks RFC 1661 §2 (low octet even, or high octet odd).
    case invalidProtocolField(UInt16)
    /// A control packet Length field below 4 (RFC 1661 §5: "silently discarded").
    case packetLengthBelowHeader(UInt16)
    /// A control packet Length field above the octets received.
    case packetLengthAboveFrame(length: UInt16, available: Int)
    /// A configuration option whose Length field is below 2 or runs past the packet.
    case optionLength(type: UInt8, length: UInt8, available: Int)
    /// A field inside a packet (a name, a value) whose length runs past the packet.
    case fieldLength(declared: Int, available: Int)
    /// A message that must have a fixed layout does not (an MS-CHAP response of the wrong size).
    case unexpectedLength(expected: Int, actual: Int)
    /// A textual field (MS-CHAP Success or Failure message) that does not follow its grammar.
    case malformedText(field: UInt8)

    // MARK: Async-HDLC (RFC 1662)

    /// The frame check sequence does not verify.
    case badFrameCheckSequence
    /// A frame shorter than the minimum (a protocol field plus the 2-octet FCS).
    case frameTooShort(Int)
    /// A frame longer than the decoder's bound; it is discarded up to the next flag.
    case frameTooLong(limit: Int)
    /// The abort sequence 0x7D 0x7E (RFC 1662 §4.2).
    case frameAborted
}

/// Everything that can be wrong with PPTP bytes from the wire: control messages (RFC 2637 §1.4, §2)
/// and enhanced GRE headers (RFC 2637 §4.1).
///
/// One closed enum for the target, used with typed throws. Payloads are numbers a log line can
/// use; there are no free-text reasons.
public enum PPTPWireError: Error, Hashable, Sendable {
    // MARK: Control connection framing (fatal to the TCP stream: the framing is lost)

    /// The Length field is smaller than the 12-octet header it must include (RFC 2637 §2.1).
    case lengthBelowHeader(UInt16)
    /// The Length field is larger than the largest control message we know (220 octets, ICRQ).
    case lengthAboveMaximum(UInt16)
    /// The Magic Cookie is not 0x1A2B3C4D. RFC 2637 §1.4: loss of synchronisation "must result in
    /// immediate closing of the control connection".
    case badMagicCookie(UInt32)

    // MARK: One message (the stream stays in sync; the message is refused)

    /// The PPTP Message Type is not 1 (Control Message). 2 (Management) is defined but unused.
    case unsupportedMessageType(UInt16)
    /// A Control Message Type we do not know (1–15 are defined).
    case unknownControlMessageType(UInt16)
    /// The Length field differs from the fixed size of this message type.
    case lengthMismatch(type: ControlMessageType, length: UInt16, expected: UInt16)
    /// Fewer octets than a field needs.
    case truncated(needed: Int, available: Int)
    /// A length field inside a message (a phone number length) exceeds its fixed-size field.
    case fieldLengthOutOfRange(field: UInt16, maximum: UInt16)

    // MARK: Enhanced GRE (RFC 2637 §4.1)

    /// The GRE version is not 1 (enhanced GRE).
    case greVersion(UInt8)
    /// The protocol type is not 0x880B (PPP).
    case greProtocol(UInt16)
    /// The K (key) bit is clear; RFC 2637 §4.1: "Key Present … Set to one (1)".
    case greKeyAbsent
    /// The C (checksum) or R (routing) bit is set; RFC 2637 §4.1 requires both to be zero.
    case greChecksumOrRoutingPresent
    /// Strict source route, recursion control or the flag bits are not zero; RFC 2637 §4.1 says
    /// they MUST be zero, and the Linux kernel drops such packets.
    case greReservedFieldsSet(flags: UInt16)
    /// The payload length field exceeds the octets present after the header.
    case grePayloadLength(declared: UInt16, available: Int)

    /// Whether the error means the TCP byte stream has lost its framing, so the control connection
    /// must be closed (RFC 2637 §1.4), as opposed to one bad message in a stream that stays in sync.
    public var isFatalToStream: Bool {
        switch self {
        case .lengthBelowHeader, .lengthAboveMaximum, .badMagicCookie: return true
        case .unsupportedMessageType, .unknownControlMessageType, .lengthMismatch, .truncated,
            .fieldLengthOutOfRange, .greVersion, .greProtocol, .greKeyAbsent, .greChecksumOrRoutingPresent,
            .greReservedFieldsSet, .grePayloadLength:
            return false
        }
    }
}

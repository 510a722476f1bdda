import NIOCore

/// One PPTP control message (RFC 2637 §2): the 15 message types as one value.
public enum ControlMessage: Hashable, Sendable {
    case startControlConnectionRequest(StartControlConnectionRequest)
    case startControlConnectionReply(StartControlConnectionReply)
    case stopControlConnectionRequest(StopControlConnectionRequest)
    case stopControlConnectionReply(StopControlConnectionReply)
    case echoRequest(EchoRequest)
    case echoReply(EchoReply)
    case outgoingCallRequest(OutgoingCallRequest)
    case outgoingCallReply(OutgoingCallReply)
    case incomingCallRequest(IncomingCallRequest)
    case incomingCallReply(IncomingCallReply)
    case incomingCallConnected(IncomingCallConnected)
    case callClearRequest(CallClearRequest)
    case callDisconnectNotify(CallDisconnectNotify)
    case wanErrorNotify(WANErrorNotify)
    case setLinkInfo(SetLinkInfo)

    /// The Magic Cookie every control message carries (RFC 2637 §1.4).
    public static let magicCookie: UInt32 = 0x1A2B_3C4D
    /// Length, PPTP Message Type, Magic Cookie, Control Message Type, Reserved0.
    public static let headerLength = 12
    /// The largest control message (Incoming-Call-Request, RFC 2637 §2.9).
    public static let maximumLength: UInt16 = 220
    /// PPTP Message Type 1: Control Message (RFC 2637 §1.4).
    static let controlMessageType: UInt16 = 1

    public var messageType: ControlMessageType {
        switch self {
        case .startControlConnectionRequest: return .startControlConnectionRequest
        case .startControlConnectionReply: return .startControlConnectionReply
        case .stopControlConnectionRequest: return .stopControlConnectionRequest
        case .stopControlConnectionReply: return .stopControlConnectionReply
        case .echoRequest: return .echoRequest
        case .echoReply: return .echoReply
        case .outgoingCallRequest: return .outgoingCallRequest
        case .outgoingCallReply: return .outgoingCallReply
        case .incomingCallRequest: return .incomingCallRequest
        case .incomingCallReply: return .incomingCallReply
        case .incomingCallConnected: return .incomingCallConnected
        case .callClearRequest: return .callClearRequest
        case .callDisconnectNotify: return .callDisconnectNotify
        case .wanErrorNotify: return .wanErrorNotify
        case .setLinkInfo: return .setLinkInfo
        }
    }

    /// Writes the whole message, header included. Infallible.
    public func write(to buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt16(0))  // Length, patched below
        buffer.writeInteger(Self.controlMessageType)
        buffer.writeInteger(Self.magicCookie)
        buffer.writeInteger(messageType.rawValue)
        buffer.writeInteger(UInt16(0))  // Reserved0: "MUST be 0"
        switch self {
        case .startControlConnectionRequest(let m): m.write(to: &buffer)
        case .startControlConnectionReply(let m): m.write(to: &buffer)
        case .stopControlConnectionRequest(let m): m.write(to: &buffer)
        case .stopControlConnectionReply(let m): m.write(to: &buffer)
        case .echoRequest(let m): m.write(to: &buffer)
        case .echoReply(let m): m.write(to: &buffer)
        case .outgoingCallRequest(let m): m.write(to: &buffer)
        case .outgoingCallReply(let m): m.write(to: &buffer)
        case .incomingCallRequest(let m): m.write(to: &buffer)
        case .incomingCallReply(let m): m.write(to: &buffer)
        case .incomingCallConnected(let m): m.write(to: &buffer)
        case .callClearRequest(let m): m.write(to: &buffer)
        case .callDisconnectNotify(let m): m.write(to: &buffer)
        case .wanErrorNotify(let m): m.write(to: &buffer)
        case .setLinkInfo(let m): m.write(to: &buffer)
        }
        // Every body is fixed-size and at most 208 octets, so the length always fits.
        buffer.setInteger(UInt16(truncatingIfNeeded: buffer.writerIndex - start), at: start)
    }

    /// The serialised message as a new buffer.
    public func serialized() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Int(messageType.fixedLength ?? 16))
        write(to: &buffer)
        return buffer
    }

    /// Reads one message from the front of `buffer`.
    ///
    /// The framing contract of nio-ssh's `readSSHMessage`: returns `nil` when more bytes are
    /// needed (the reader index is untouched), throws when the bytes are malformed. The framer
    /// checks `header ≤ length ≤ maximum` and the Magic Cookie before anything else, then hands a
    /// slice of exactly `length` octets to the body parser, so no parser reads past its message.
    ///
    /// When the error is not `isFatalToStream` (an unknown type, a wrong length for the type),
    /// the whole message has been consumed and the next one can be read.
    public static func read(from buffer: inout ByteBuffer) throws(PPTPWireError) -> ControlMessage? {
        // The first 8 octets are enough to check the length and the cookie.
        guard
            let (length, pptpType, cookie) = buffer.getMultipleIntegers(
                at: buffer.readerIndex,
                as: (UInt16, UInt16, UInt32).self
            )
        else { return nil }
        // RFC 2637 §2.1: Length is the "total length in octets of this PPTP message, including
        // the entire PPTP header".
        guard length >= UInt16(headerLength) else { throw .lengthBelowHeader(length) }
        guard length <= maximumLength else { throw .lengthAboveMaximum(length) }
        guard cookie == magicCookie else { throw .badMagicCookie(cookie) }
        guard var message = buffer.readSlice(length: Int(length)) else { return nil }

        message.moveReaderIndex(forwardBy: 8)
        let type = ControlMessageType(rawValue: try message.readWire())
        try message.skipReserved(2)  // Reserved0: ignored on receipt
        guard pptpType == controlMessageType else { throw .unsupportedMessageType(pptpType) }
        guard let expected = type.fixedLength else { throw .unknownControlMessageType(type.rawValue) }
        guard length == expected else { throw .lengthMismatch(type: type, length: length, expected: expected) }
        return try parseBody(type: type, body: &message)
    }

    /// Parses one complete message held in `bytes` (exactly one, nothing after it).
    public init(parsing bytes: ByteBuffer) throws(PPTPWireError) {
        var buffer = bytes
        guard let message = try Self.read(from: &buffer) else {
            throw .truncated(needed: Self.headerLength, available: bytes.readableBytes)
        }
        self = message
    }

    private static func parseBody(type: ControlMessageType, body: inout ByteBuffer) throws(PPTPWireError) -> Self {
        switch type {
        case .startControlConnectionRequest: return .startControlConnectionRequest(try .init(parsing: &body))
        case .startControlConnectionReply: return .startControlConnectionReply(try .init(parsing: &body))
        case .stopControlConnectionRequest: return .stopControlConnectionRequest(try .init(parsing: &body))
        case .stopControlConnectionReply: return .stopControlConnectionReply(try .init(parsing: &body))
        case .echoRequest: return .echoRequest(try .init(parsing: &body))
        case .echoReply: return .echoReply(try .init(parsing: &body))
        case .outgoingCallRequest: return .outgoingCallRequest(try .init(parsing: &body))
        case .outgoingCallReply: return .outgoingCallReply(try .init(parsing: &body))
        case .incomingCallRequest: return .incomingCallRequest(try .init(parsing: &body))
        case .incomingCallReply: return .incomingCallReply(try .init(parsing: &body))
        case .incomingCallConnected: return .incomingCallConnected(try .init(parsing: &body))
        case .callClearRequest: return .callClearRequest(try .init(parsing: &body))
        case .callDisconnectNotify: return .callDisconnectNotify(try .init(parsing: &body))
        case .wanErrorNotify: return .wanErrorNotify(try .init(parsing: &body))
        case .setLinkInfo: return .setLinkInfo(try .init(parsing: &body))
        default: throw .unknownControlMessageType(type.rawValue)
        }
    }
}

import NIOCore

/// A typed packet of LCP or of a Network Control Protocol (IPCP, IPV6CP, CCP): RFC 1661 §5 codes
/// 1–7 for all of them, codes 8–13 for LCP only (RFC 1661 §5.7–5.9, RFC 1570 §2), and
/// Reset-Request/Ack for CCP (RFC 1962 §1.2). A code the protocol does not know becomes
/// `.unknown`, which the automaton answers with Code-Reject (RFC 1661 §5.6).
public enum ControlProtocolMessage<Option: TypedConfigurationOption>: Hashable, Sendable {
    case configureRequest([Option])
    case configureAck([Option])
    case configureNak([Option])
    case configureReject([Option])
    case terminateRequest([UInt8])
    case terminateAck([UInt8])
    /// The rejected packet, starting at its Code field (truncated by the sender to fit the MRU).
    case codeReject([UInt8])
    /// LCP only: the rejected protocol and the information field of the rejected frame.
    case protocolReject(PPPProtocolNumber, information: [UInt8])
    /// LCP only: Magic-Number and data.
    case echoRequest(magic: UInt32, data: [UInt8])
    case echoReply(magic: UInt32, data: [UInt8])
    case discardRequest(magic: UInt32, data: [UInt8])
    /// LCP only (RFC 1570 §2.1): Windows sends "MSRASV5.00" and the like after LCP opens.
    case identification(magic: UInt32, message: [UInt8])
    /// LCP only (RFC 1570 §2.2).
    case timeRemaining(magic: UInt32, seconds: UInt32, message: [UInt8])
    /// CCP only: Reset-Request and Reset-Ack, with their data.
    case resetRequest([UInt8])
    case resetAck([UInt8])
    /// A code this protocol does not define.
    case unknown(ControlCode, data: [UInt8])

    private static var isLCP: Bool { Option.controlProtocol == .lcp }
    private static var isCCP: Bool { Option.controlProtocol == .ccp }

    /// Interprets a control packet. Throws when a packet with a known code is malformed (an option
    /// list that does not parse, an LCP echo shorter than its Magic-Number); RFC 1661 says such
    /// packets are silently discarded.
    public init(_ packet: ControlPacket) throws(PPPWireError) {
        let data = packet.data
        func options() throws(PPPWireError) -> [Option] {
            try ConfigurationOption.parseList(data).map(Option.init)
        }
        func magic() throws(PPPWireError) -> UInt32 {
            guard let value: UInt32 = data.readBigEndian(at: 0) else {
                throw .truncated(needed: 4, available: data.count)
            }
            return value
        }
        switch packet.code {
        case .configureRequest: self = .configureRequest(try options())
        case .configureAck: self = .configureAck(try options())
        case .configureNak: self = .configureNak(try options())
        case .configureReject: self = .configureReject(try options())
        case .terminateRequest: self = .terminateRequest(data)
        case .terminateAck: self = .terminateAck(data)
        case .codeReject: self = .codeReject(data)
        case .protocolReject where Self.isLCP:
            guard let proto: UInt16 = data.readBigEndian(at: 0) else {
                throw .truncated(needed: 2, available: data.count)
            }
            self = .protocolReject(.init(proto), information: Array(data.dropFirst(2)))
        case .echoRequest where Self.isLCP: self = .echoRequest(magic: try magic(), data: Array(data.dropFirst(4)))
        case .echoReply where Self.isLCP: self = .echoReply(magic: try magic(), data: Array(data.dropFirst(4)))
        case .discardRequest where Self.isLCP:
            self = .discardRequest(magic: try magic(), data: Array(data.dropFirst(4)))
        case .identification where Self.isLCP:
            self = .identification(magic: try magic(), message: Array(data.dropFirst(4)))
        case .timeRemaining where Self.isLCP:
            guard let seconds: UInt32 = data.readBigEndian(at: 4) else {
                throw .truncated(needed: 8, available: data.count)
            }
            self = .timeRemaining(magic: try magic(), seconds: seconds, message: Array(data.dropFirst(8)))
        case .resetRequest where Self.isCCP: self = .resetRequest(data)
        case .resetAck where Self.isCCP: self = .resetAck(data)
        default: self = .unknown(packet.code, data: data)
        }
    }

    public var code: ControlCode {
        switch self {
        case .configureRequest: return .configureRequest
        case .configureAck: return .configureAck
        case .configureNak: return .configureNak
        case .configureReject: return .configureReject
        case .terminateRequest: return .terminateRequest
        case .terminateAck: return .terminateAck
        case .codeReject: return .codeReject
        case .protocolReject: return .protocolReject
        case .echoRequest: return .echoRequest
        case .echoReply: return .echoReply
        case .discardRequest: return .discardRequest
        case .identification: return .identification
        case .timeRemaining: return .timeRemaining
        case .resetRequest: return .resetRequest
        case .resetAck: return .resetAck
        case .unknown(let code, _): return code
        }
    }

    /// The Data field of the packet.
    public var data: [UInt8] {
        switch self {
        case .configureRequest(let o), .configureAck(let o), .configureNak(let o), .configureReject(let o):
            return ConfigurationOption.serializeList(o.map(\.raw))
        case .terminateRequest(let d), .terminateAck(let d), .codeReject(let d), .resetRequest(let d), .resetAck(let d):
            return d
        case .protocolReject(let proto, let info): return proto.rawValue.bigEndianBytes + info
        case .echoRequest(let magic, let d), .echoReply(let magic, let d), .discardRequest(let magic, let d),
            .identification(let magic, let d):
            return magic.bigEndianBytes + d
        case .timeRemaining(let magic, let seconds, let message):
            return magic.bigEndianBytes + seconds.bigEndianBytes + message
        case .unknown(_, let d): return d
        }
    }

    /// The control packet with this identifier.
    public func packet(identifier: UInt8) -> ControlPacket {
        ControlPacket(code: code, identifier: identifier, data: data)
    }

    /// The options of a Configure-Request/Ack/Nak/Reject, `nil` for other codes.
    public var options: [Option]? {
        switch self {
        case .configureRequest(let o), .configureAck(let o), .configureNak(let o), .configureReject(let o): return o
        default: return nil
        }
    }
}

public typealias LCPMessage = ControlProtocolMessage<LCPOption>
public typealias IPCPMessage = ControlProtocolMessage<IPCPOption>
public typealias IPV6CPMessage = ControlProtocolMessage<IPV6CPOption>
public typealias CCPMessage = ControlProtocolMessage<CCPOption>

extension ControlProtocolMessage {
    /// One line as pppd's `debug` log prints it, e.g.
    /// `LCP ConfReq id=0x1 <asyncmap 0x0> <auth chap MS-v2> <magic 0x3a137395> <pcomp> <accomp>`.
    public func logDescription(identifier: UInt8) -> String {
        var text = "\(Option.controlProtocol) \(code) id=0x\(String(identifier, radix: 16))"
        switch self {
        case .configureRequest(let o), .configureAck(let o), .configureNak(let o), .configureReject(let o):
            for option in o { text += " " + option.description }
        case .terminateRequest(let d), .terminateAck(let d):
            if !d.isEmpty { text += " " + quotedText(d) }
        case .codeReject(let d): text += " " + hexString(d.prefix(16))
        case .protocolReject(let proto, let info): text += " proto=\(proto) " + hexString(info.prefix(16))
        case .echoRequest(let magic, let d), .echoReply(let magic, let d), .discardRequest(let magic, let d):
            text += " magic=0x\(String(magic, radix: 16))"
            if !d.isEmpty { text += " \(d.count) bytes" }
        case .identification(let magic, let message):
            text += " magic=0x\(String(magic, radix: 16)) " + quotedText(message)
        case .timeRemaining(let magic, let seconds, let message):
            text += " magic=0x\(String(magic, radix: 16)) seconds=\(seconds) " + quotedText(message)
        case .resetRequest(let d), .resetAck(let d), .unknown(_, let d):
            if !d.isEmpty { text += " " + hexString(d.prefix(16)) }
        }
        return text
    }
}

/// Octets as a quoted string with non-printable characters escaped (for logs and decode output).
public func quotedText(_ bytes: some Sequence<UInt8>) -> String {
    var out = "\""
    for byte in bytes {
        switch byte {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
        default: out += "\\x" + hex(byte, width: 2)
        }
    }
    return out + "\""
}

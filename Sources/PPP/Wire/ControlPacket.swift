import NIOCore

/// The Code field of a PPP control packet (RFC 1661 §5), an open struct. Codes 1–7 are common to
/// LCP and the NCPs; 8–13 are LCP only; 14/15 are CCP's Reset-Request/Ack (RFC 1962 §1.2).
public struct ControlCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let configureRequest = Self(1)
    public static let configureAck = Self(2)
    public static let configureNak = Self(3)
    public static let configureReject = Self(4)
    public static let terminateRequest = Self(5)
    public static let terminateAck = Self(6)
    public static let codeReject = Self(7)
    public static let protocolReject = Self(8)
    public static let echoRequest = Self(9)
    public static let echoReply = Self(10)
    public static let discardRequest = Self(11)
    /// RFC 1570 §2.1.
    public static let identification = Self(12)
    /// RFC 1570 §2.2.
    public static let timeRemaining = Self(13)
    /// RFC 1962 §1.2 (CCP only).
    public static let resetRequest = Self(14)
    public static let resetAck = Self(15)

    /// The names pppd prints, so our logs read like the pppd logs beside the captures.
    public var description: String {
        switch rawValue {
        case 1: return "ConfReq"
        case 2: return "ConfAck"
        case 3: return "ConfNak"
        case 4: return "ConfRej"
        case 5: return "TermReq"
        case 6: return "TermAck"
        case 7: return "CodeRej"
        case 8: return "ProtRej"
        case 9: return "EchoReq"
        case 10: return "EchoRep"
        case 11: return "DiscReq"
        case 12: return "Ident"
        case 13: return "TimeRem"
        case 14: return "ResetReq"
        case 15: return "ResetAck"
        default: return "code=0x" + hex(rawValue, width: 2)
        }
    }
}

/// A PPP control packet: Code, Identifier, Length, Data (RFC 1661 §5), the format shared by LCP,
/// the NCPs, PAP and CHAP.
public struct ControlPacket: Hashable, Sendable {
    public var code: ControlCode
    public var identifier: UInt8
    /// The Data field, exactly `length - 4` octets.
    public var data: [UInt8]

    public init(code: ControlCode, identifier: UInt8, data: [UInt8] = []) {
        self.code = code
        self.identifier = identifier
        self.data = data
    }

    /// The Length field: code, identifier, length and data.
    public var length: Int { 4 + data.count }

    /// Parses a packet from the information field of a PPP frame. RFC 1661 §5: "Octets outside
    /// the range of the Length field are treated as padding and are ignored on reception", and a
    /// Length below 4 or beyond the frame means the packet is silently discarded (thrown here).
    public init(parsing information: ByteBuffer) throws(PPPWireError) {
        var buffer = information
        guard let (code, identifier, length) = buffer.readMultipleIntegers(as: (UInt8, UInt8, UInt16).self) else {
            throw .truncated(needed: 4, available: information.readableBytes)
        }
        guard length >= 4 else { throw .packetLengthBelowHeader(length) }
        guard let data = buffer.readBytes(length: Int(length) - 4) else {
            throw .packetLengthAboveFrame(length: length, available: information.readableBytes)
        }
        self.code = ControlCode(code)
        self.identifier = identifier
        self.data = data
    }

    /// Parses a packet from raw octets.
    public init(parsing bytes: [UInt8]) throws(PPPWireError) {
        try self.init(parsing: ByteBuffer(bytes: bytes))
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(code.rawValue)
        buffer.writeInteger(identifier)
        buffer.writeInteger(UInt16(truncatingIfNeeded: length))
        buffer.writeBytes(data)
    }

    /// The packet as octets (what goes in the information field).
    public var bytes: [UInt8] {
        var out: [UInt8] = [
            code.rawValue, identifier, UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ]
        out.append(contentsOf: data)
        return out
    }
}

/// One configuration option as type-length-value (RFC 1661 §6): the raw form every typed option
/// converts to and from. Unknown options stay in this form so they can be Configure-Rejected.
public struct ConfigurationOption: Hashable, Sendable, CustomStringConvertible {
    public var type: UInt8
    /// The option data, without type and length (so at most 253 octets).
    public var data: [UInt8]

    public init(type: UInt8, data: [UInt8] = []) {
        self.type = type
        self.data = data
    }

    /// Parses the option list of a Configure-Request/Ack/Nak/Reject. RFC 1661 §6: the Length
    /// includes the type and length octets, so it is at least 2.
    public static func parseList(_ bytes: [UInt8]) throws(PPPWireError) -> [ConfigurationOption] {
        var options: [ConfigurationOption] = []
        var index = 0
        while index < bytes.count {
            let type = bytes[index]
            guard index + 1 < bytes.count else {
                throw .optionLength(type: type, length: 0, available: bytes.count - index)
            }
            let length = Int(bytes[index + 1])
            guard length >= 2, index + length <= bytes.count else {
                throw .optionLength(type: type, length: UInt8(length), available: bytes.count - index)
            }
            options.append(ConfigurationOption(type: type, data: Array(bytes[(index + 2)..<(index + length)])))
            index += length
        }
        return options
    }

    /// Serialises an option list. Data longer than 253 octets is a local bug.
    public static func serializeList(_ options: [ConfigurationOption]) -> [UInt8] {
        var out: [UInt8] = []
        for option in options { option.append(to: &out) }
        return out
    }

    public func append(to out: inout [UInt8]) {
        precondition(data.count <= 253, "configuration option too long")
        out.append(type)
        out.append(UInt8(data.count + 2))
        out.append(contentsOf: data)
    }

    public var description: String {
        data.isEmpty ? "<opt \(type)>" : "<opt \(type) \(hexString(data))>"
    }
}

/// A typed configuration option of one control protocol (LCP, IPCP, IPV6CP, CCP), convertible to
/// and from the raw type-length-value form without loss.
public protocol TypedConfigurationOption: Hashable, Sendable, CustomStringConvertible {
    /// The PPP protocol the option belongs to.
    static var controlProtocol: PPPProtocolNumber { get }
    /// Converts a raw option; never fails: unknown or malformed options become a raw case.
    init(_ raw: ConfigurationOption)
    var raw: ConfigurationOption { get }
    /// The option type octet.
    var type: UInt8 { get }
}

extension TypedConfigurationOption {
    public var type: UInt8 { raw.type }
}

// MARK: - Small readers for option and packet data

extension Array where Element == UInt8 {
    /// Big-endian integer at `offset`, or nil when the array is too short.
    @inlinable
    func readBigEndian<T: FixedWidthInteger>(at offset: Int, as: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset + size <= count else { return nil }
        var value: T = 0
        for i in 0..<size { value = value << 8 | T(self[offset + i]) }
        return value
    }
}

extension FixedWidthInteger {
    /// Big-endian octets of the value.
    @inlinable
    var bigEndianBytes: [UInt8] {
        let size = MemoryLayout<Self>.size
        return (0..<size).map { UInt8(truncatingIfNeeded: self >> ((size - 1 - $0) * 8)) }
    }
}

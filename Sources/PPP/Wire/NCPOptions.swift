/// An IPCP configuration option (RFC 1332 §3, RFC 1877 for the name servers).
public enum IPCPOption: TypedConfigurationOption {
    /// IP-Addresses, type 1 (deprecated, RFC 1172): source and destination.
    case ipAddresses(source: IPv4Address, destination: IPv4Address)
    /// IP-Compression-Protocol, type 2 (RFC 1332 §3.2): Van Jacobson is 0x002D + max slot id +
    /// compress slot id.
    case ipCompressionProtocol(PPPProtocolNumber, data: [UInt8])
    /// IP-Address, type 3 (RFC 1332 §3.3); 0.0.0.0 asks the peer to assign one.
    case ipAddress(IPv4Address)
    /// Primary DNS server, type 129 (RFC 1877 §1.1).
    case primaryDNS(IPv4Address)
    /// Primary NBNS (WINS) server, type 130 (RFC 1877 §1.2).
    case primaryNBNS(IPv4Address)
    /// Secondary DNS server, type 131 (RFC 1877 §1.3).
    case secondaryDNS(IPv4Address)
    /// Secondary NBNS server, type 132 (RFC 1877 §1.4).
    case secondaryNBNS(IPv4Address)
    case other(ConfigurationOption)

    public static let controlProtocol = PPPProtocolNumber.ipcp

    public init(_ raw: ConfigurationOption) {
        let d = raw.data
        func address(_ offset: Int) -> IPv4Address { IPv4Address(rawValue: d.readBigEndian(at: offset) ?? 0) }
        switch raw.type {
        case 1 where d.count == 8: self = .ipAddresses(source: address(0), destination: address(4))
        case 2 where d.count >= 2:
            self = .ipCompressionProtocol(.init(d.readBigEndian(at: 0) ?? 0), data: Array(d.dropFirst(2)))
        case 3 where d.count == 4: self = .ipAddress(address(0))
        case 129 where d.count == 4: self = .primaryDNS(address(0))
        case 130 where d.count == 4: self = .primaryNBNS(address(0))
        case 131 where d.count == 4: self = .secondaryDNS(address(0))
        case 132 where d.count == 4: self = .secondaryNBNS(address(0))
        default: self = .other(raw)
        }
    }

    public var raw: ConfigurationOption {
        switch self {
        case .ipAddresses(let s, let d): return .init(type: 1, data: s.octets + d.octets)
        case .ipCompressionProtocol(let p, let data): return .init(type: 2, data: p.rawValue.bigEndianBytes + data)
        case .ipAddress(let a): return .init(type: 3, data: a.octets)
        case .primaryDNS(let a): return .init(type: 129, data: a.octets)
        case .primaryNBNS(let a): return .init(type: 130, data: a.octets)
        case .secondaryDNS(let a): return .init(type: 131, data: a.octets)
        case .secondaryNBNS(let a): return .init(type: 132, data: a.octets)
        case .other(let raw): return raw
        }
    }

    /// As pppd prints them: `<addr 203.0.113.1>`, `<ms-dns1 …>`, `<compress VJ 0f 01>`.
    public var description: String {
        switch self {
        case .ipAddresses(let s, let d): return "<addrs \(s) \(d)>"
        case .ipCompressionProtocol(let p, let data):
            let name = p == .vjCompressedTCP ? "VJ" : p.description
            return "<compress \(name) \(data.map { hex($0, width: 2) }.joined(separator: " "))>"
        case .ipAddress(let a): return "<addr \(a)>"
        case .primaryDNS(let a): return "<ms-dns1 \(a)>"
        case .primaryNBNS(let a): return "<ms-wins \(a)>"
        case .secondaryDNS(let a): return "<ms-dns3 \(a)>"
        case .secondaryNBNS(let a): return "<ms-wins2 \(a)>"
        case .other(let raw): return raw.description
        }
    }
}

/// An IPV6CP configuration option (RFC 5072 §4).
public enum IPV6CPOption: TypedConfigurationOption {
    /// Interface-Identifier, type 1 (RFC 5072 §4.1): 64 bits.
    case interfaceIdentifier(UInt64)
    /// IPv6-Compression-Protocol, type 2 (RFC 5072 §4.2).
    case compressionProtocol(PPPProtocolNumber, data: [UInt8])
    case other(ConfigurationOption)

    public static let controlProtocol = PPPProtocolNumber.ipv6cp

    public init(_ raw: ConfigurationOption) {
        let d = raw.data
        switch raw.type {
        case 1 where d.count == 8: self = .interfaceIdentifier(d.readBigEndian(at: 0) ?? 0)
        case 2 where d.count >= 2:
            self = .compressionProtocol(.init(d.readBigEndian(at: 0) ?? 0), data: Array(d.dropFirst(2)))
        default: self = .other(raw)
        }
    }

    public var raw: ConfigurationOption {
        switch self {
        case .interfaceIdentifier(let id): return .init(type: 1, data: id.bigEndianBytes)
        case .compressionProtocol(let p, let data): return .init(type: 2, data: p.rawValue.bigEndianBytes + data)
        case .other(let raw): return raw
        }
    }

    /// `<addr fe80::1c0e:a7d5:8b21:700a>` as pppd prints the identifier.
    public var description: String {
        switch self {
        case .interfaceIdentifier(let id):
            // pppd prints every group with four digits ("dc4a:0404").
            let groups = (0..<4).map { hex(UInt16(truncatingIfNeeded: id >> (48 - 16 * $0)), width: 4) }
            return "<addr fe80::\(groups.joined(separator: ":"))>"
        case .compressionProtocol(let p, let data): return "<compress \(p) \(hexString(data))>"
        case .other(let raw): return raw.description
        }
    }
}

/// The MPPE/MPPC Supported Bits of CCP option 18 (RFC 3078 §2.1, RFC 2118):
/// ```
/// |H|  (24 bits reserved)                 |M|S|L|D|       |C|
/// ```
/// H stateless ("history-less"), M 56-bit, S 128-bit, L 40-bit, D obsolete, C MPPC compression.
public struct MPPEOptions: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// MPPC compression (RFC 2118). We never offer it.
    public static let compression = Self(rawValue: 0x0000_0001)
    /// Obsolete (RFC 3078 §2.1: "SHOULD NOT be set").
    public static let obsoleteD = Self(rawValue: 0x0000_0010)
    public static let bits40 = Self(rawValue: 0x0000_0020)
    public static let bits128 = Self(rawValue: 0x0000_0040)
    public static let bits56 = Self(rawValue: 0x0000_0080)
    /// Stateless mode: a new key for every packet (RFC 3078 §2.1, "history-less").
    public static let stateless = Self(rawValue: 0x0100_0000)

    /// All key-strength bits.
    public static let strengths: Self = [.bits40, .bits56, .bits128]

    /// As pppd prints it: `<mppe +H -M +S -L -D -C>`.
    public var description: String {
        func flag(_ bit: Self, _ name: String) -> String { (contains(bit) ? "+" : "-") + name }
        var text = "mppe \(flag(.stateless, "H")) \(flag(.bits56, "M")) \(flag(.bits128, "S")) \(flag(.bits40, "L")) "
        text += "\(flag(.obsoleteD, "D")) \(flag(.compression, "C"))"
        let known: Self = [.stateless, .bits56, .bits128, .bits40, .obsoleteD, .compression]
        let unknown = rawValue & ~known.rawValue
        if unknown != 0 { text += " 0x" + String(unknown, radix: 16) }
        return text
    }
}

/// A CCP configuration option (RFC 1962 §2): MPPE/MPPC (type 18, RFC 3078 §2.1) typed, every
/// compression method we do not implement kept raw (Deflate 26, BSD-Compress 21, …).
public enum CCPOption: TypedConfigurationOption {
    case mppe(MPPEOptions)
    case other(ConfigurationOption)

    public static let controlProtocol = PPPProtocolNumber.ccp
    public static let typeMPPE: UInt8 = 18

    public init(_ raw: ConfigurationOption) {
        if raw.type == Self.typeMPPE, raw.data.count == 4, let bits: UInt32 = raw.data.readBigEndian(at: 0) {
            self = .mppe(MPPEOptions(rawValue: bits))
        } else {
            self = .other(raw)
        }
    }

    public var raw: ConfigurationOption {
        switch self {
        case .mppe(let bits): return .init(type: Self.typeMPPE, data: bits.rawValue.bigEndianBytes)
        case .other(let raw): return raw
        }
    }

    public var description: String {
        switch self {
        case .mppe(let bits): return "<\(bits)>"
        case .other(let raw):
            switch raw.type {
            case 21: return "<bsd \(hexString(raw.data))>"
            case 24, 26: return "<deflate \(hexString(raw.data))>"
            case 1: return "<OUI \(hexString(raw.data))>"
            case 2, 3: return "<predictor \(raw.type - 1)>"
            case 17: return "<stac \(hexString(raw.data))>"
            default: return raw.description
            }
        }
    }
}

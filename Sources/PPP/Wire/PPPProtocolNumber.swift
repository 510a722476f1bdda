/// The PPP Protocol field (RFC 1661 §2), an open struct: unknown values are data, which PPP must
/// answer with LCP Protocol-Reject (RFC 1661 §5.7).
public struct PPPProtocolNumber: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = Self(0x0021)
    public static let ipv6 = Self(0x0057)
    /// Compressed datagram: MPPE/MPPC payloads (RFC 1962, RFC 3078).
    public static let compressedDatagram = Self(0x00FD)
    public static let vjCompressedTCP = Self(0x002D)
    public static let vjUncompressedTCP = Self(0x002F)
    public static let ipcp = Self(0x8021)
    public static let ipv6cp = Self(0x8057)
    public static let ccp = Self(0x80FD)
    public static let ecp = Self(0x8053)
    public static let lcp = Self(0xC021)
    public static let pap = Self(0xC023)
    public static let lqr = Self(0xC025)
    public static let eap = Self(0xC227)
    public static let chap = Self(0xC223)
    public static let cbcp = Self(0xC029)
    public static let bacp = Self(0xC02B)
    public static let bap = Self(0xC02D)
    public static let multilink = Self(0x003D)

    /// RFC 1661 §2: "values in the 'cxxx' range identify datagrams as belonging to Link Layer
    /// Control Protocols"; 8xxx are Network Control Protocols; 0xxx–3xxx network layer datagrams.
    public var isNetworkLayer: Bool { rawValue < 0x4000 }
    public var isNetworkControlProtocol: Bool { rawValue >= 0x8000 && rawValue < 0xC000 }
    public var isLinkControlProtocol: Bool { rawValue >= 0xC000 }

    /// RFC 1661 §2: the least significant octet is odd and the most significant octet is even.
    public var isValid: Bool { rawValue & 0x0001 == 1 && rawValue & 0x0100 == 0 }

    public var description: String {
        switch rawValue {
        case 0x0021: return "IPv4"
        case 0x0057: return "IPv6"
        case 0x00FD: return "Compressed"
        case 0x002D: return "VJ-Compressed"
        case 0x002F: return "VJ-Uncompressed"
        case 0x8021: return "IPCP"
        case 0x8057: return "IPV6CP"
        case 0x80FD: return "CCP"
        case 0x8053: return "ECP"
        case 0xC021: return "LCP"
        case 0xC023: return "PAP"
        case 0xC025: return "LQR"
        case 0xC227: return "EAP"
        case 0xC223: return "CHAP"
        case 0xC029: return "CBCP"
        case 0xC02B: return "BACP"
        case 0xC02D: return "BAP"
        case 0x003D: return "Multilink"
        default: return "0x" + hex(rawValue, width: 4)
        }
    }
}

/// Zero-padded lowercase hexadecimal.
@usableFromInline
func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Lowercase hexadecimal of a byte sequence.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    var out = ""
    for byte in bytes { out += hex(byte, width: 2) }
    return out
}

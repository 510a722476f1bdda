/// An IP protocol number: the IPv4 Protocol field or an IPv6 Next Header value (IANA "Assigned Internet Protocol
/// Numbers"). An open set.
public struct IPProtocol: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// IPv6 Hop-by-Hop Options (RFC 8200 §4.3).
    public static let hopByHopOptions = IPProtocol(rawValue: 0)
    /// ICMP (RFC 792).
    public static let icmp = IPProtocol(rawValue: 1)
    /// TCP (RFC 9293).
    public static let tcp = IPProtocol(rawValue: 6)
    /// UDP (RFC 768).
    public static let udp = IPProtocol(rawValue: 17)
    /// IPv6 Routing header (RFC 8200 §4.4).
    public static let routing = IPProtocol(rawValue: 43)
    /// IPv6 Fragment header (RFC 8200 §4.5).
    public static let fragment = IPProtocol(rawValue: 44)
    /// Generic Routing Encapsulation (RFC 2784; PPTP's enhanced GRE, RFC 2637 §4.1).
    public static let gre = IPProtocol(rawValue: 47)
    /// Encapsulating Security Payload (RFC 4303).
    public static let esp = IPProtocol(rawValue: 50)
    /// Authentication Header (RFC 4302).
    public static let authenticationHeader = IPProtocol(rawValue: 51)
    /// ICMPv6 (RFC 4443).
    public static let icmpv6 = IPProtocol(rawValue: 58)
    /// IPv6 No Next Header (RFC 8200 §4.7).
    public static let noNextHeader = IPProtocol(rawValue: 59)
    /// IPv6 Destination Options (RFC 8200 §4.6).
    public static let destinationOptions = IPProtocol(rawValue: 60)
    /// Mobility Header (RFC 6275).
    public static let mobility = IPProtocol(rawValue: 135)
    /// Host Identity Protocol (RFC 7401).
    public static let hostIdentity = IPProtocol(rawValue: 139)
    /// Shim6 (RFC 5533).
    public static let shim6 = IPProtocol(rawValue: 140)

    public static func < (lhs: IPProtocol, rhs: IPProtocol) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .gre: "GRE"
        case .esp: "ESP"
        case .icmpv6: "ICMPv6"
        default: "protocol \(rawValue)"
        }
    }
}

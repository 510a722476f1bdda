/// A link-layer header type of a capture (the LINKTYPE_ values of the tcpdump.org registry,
/// draft-ietf-opsawg-pcaplinktype).
///
/// An open set: any value may be read, and frames of a type this reader cannot decode are counted and skipped.
public struct LinkType: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// LINKTYPE_NULL: BSD loopback, a 4-octet address family in the byte order of the capturing host.
    public static let null = LinkType(rawValue: 0)
    /// LINKTYPE_ETHERNET: IEEE 802.3 Ethernet (with optional 802.1Q / 802.1ad tags).
    public static let ethernet = LinkType(rawValue: 1)
    /// LINKTYPE_RAW: a raw IPv4 or IPv6 packet, the version nibble telling which.
    public static let raw = LinkType(rawValue: 101)
    /// LINKTYPE_LOOP: OpenBSD loopback, like `null` but the family is big-endian.
    public static let loop = LinkType(rawValue: 108)
    /// LINKTYPE_LINUX_SLL: Linux "cooked" capture, version 1 (16-octet header).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// LINKTYPE_IPV4: a raw IPv4 packet.
    public static let ipv4 = LinkType(rawValue: 228)
    /// LINKTYPE_IPV6: a raw IPv6 packet.
    public static let ipv6 = LinkType(rawValue: 229)
    /// LINKTYPE_LINUX_SLL2: Linux "cooked" capture, version 2 (20-octet header).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public static func < (lhs: LinkType, rhs: LinkType) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "ETHERNET"
        case .raw: "RAW"
        case .loop: "LOOP"
        case .linuxSLL: "LINUX_SLL"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .linuxSLL2: "LINUX_SLL2"
        default: "LINKTYPE_\(rawValue)"
        }
    }
}

/// An EtherType (IEEE 802.3 Length/Type field of 0x0600 or more), also used by Linux cooked captures.
public struct EtherType: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Internet Protocol version 4.
    public static let ipv4 = EtherType(rawValue: 0x0800)
    /// Address Resolution Protocol (RFC 826).
    public static let arp = EtherType(rawValue: 0x0806)
    /// IEEE 802.1Q customer VLAN tag.
    public static let vlan = EtherType(rawValue: 0x8100)
    /// Internet Protocol version 6.
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    /// PPP over Ethernet discovery stage (RFC 2516).
    public static let pppoeDiscovery = EtherType(rawValue: 0x8863)
    /// PPP over Ethernet session stage (RFC 2516).
    public static let pppoeSession = EtherType(rawValue: 0x8864)
    /// IEEE 802.1ad service VLAN tag (Q-in-Q).
    public static let serviceVLAN = EtherType(rawValue: 0x88A8)
    /// Pre-standard Q-in-Q tag used by some switches.
    public static let legacyQinQ = EtherType(rawValue: 0x9100)

    public static func < (lhs: EtherType, rhs: EtherType) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}

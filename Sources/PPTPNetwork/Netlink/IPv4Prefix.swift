import PPP

/// An IPv4 network in CIDR notation ("203.0.113.0/24"): an address whose host bits are zero and
/// a prefix length (RFC 4632 §3.1).
public struct IPv4Prefix: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public let address: IPv4Address
    /// Leading one bits of the netmask, 0...32.
    public let length: Int

    /// The prefix of `length` bits containing `address`; host bits are cleared.
    public init(_ address: IPv4Address, length: Int) throws(NetworkError) {
        guard (0...32).contains(length) else { throw .prefixLength(length) }
        self.length = length
        self.address = IPv4Address(rawValue: address.rawValue & Self.netmask(length))
    }

    /// Parses "a.b.c.d/n"; a bare address is a /32. Host bits are cleared ("203.0.113.77/24" is
    /// 203.0.113.0/24).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let address = IPv4Address(String(first)) else { return nil }
        var length = 32
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(digits),
                (0...32).contains(value)
            else { return nil }
            length = value
        }
        self.length = length
        self.address = IPv4Address(rawValue: address.rawValue & Self.netmask(length))
    }

    /// A single host, /32.
    public init(host: IPv4Address) {
        address = host
        length = 32
    }

    /// 0.0.0.0/0.
    public static let any = IPv4Prefix(unchecked: .unspecified, length: 0)
    /// 0.0.0.0/1 and 128.0.0.0/1: together they cover everything and are more specific than any
    /// default route, so a tunnel can take all traffic without touching the original default.
    public static let defaultHalves = [
        IPv4Prefix(unchecked: .unspecified, length: 1),
        IPv4Prefix(unchecked: IPv4Address(128, 0, 0, 0), length: 1),
    ]

    private init(unchecked address: IPv4Address, length: Int) {
        self.address = address
        self.length = length
    }

    /// The netmask as a host-order integer (/24 is 0xFFFF_FF00).
    public var netmask: UInt32 { Self.netmask(length) }

    /// Whether `host` lies in this network.
    public func contains(_ host: IPv4Address) -> Bool {
        host.rawValue & netmask == address.rawValue
    }

    public var description: String { "\(address)/\(length)" }

    static func netmask(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }
}

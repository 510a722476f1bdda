/// An IPv4 or IPv6 address as found in a captured IP header.
///
/// `description` prints the dotted quad for IPv4 and the RFC 5952 text form for IPv6 (lower-case hexadecimal,
/// no leading zeros, the longest run of two or more zero groups shortened to `::`, IPv4-mapped addresses with a
/// trailing dotted quad).
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// An IPv4 address; the first octet on the wire is the most significant byte.
    case v4(UInt32)
    /// An IPv6 address as two big-endian halves: `high` holds octets 0–7, `low` octets 8–15.
    case v6(high: UInt64, low: UInt64)

    /// The IPv4 address `a.b.c.d`.
    public static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPAddress {
        .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// Creates an address from its network-order octets: 4 for IPv4, 16 for IPv6; `nil` for any other count.
    public init?(octets: some Collection<UInt8>) {
        switch octets.count {
        case 4:
            self = .v4(octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        case 16:
            let high = octets.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = octets.dropFirst(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high: high, low: low)
        default:
            return nil
        }
    }

    /// Parses the text form: a dotted quad, or an IPv6 address with optional `::` and optional trailing dotted
    /// quad (RFC 4291 §2.2). Returns `nil` for anything else (zone identifiers and prefixes are not accepted).
    public init?(_ text: some StringProtocol) {
        if let v4 = Self.parseDottedQuad(Substring(text)) {
            self = .v4(v4)
        } else if let groups = Self.parseIPv6Groups(Substring(text)) {
            let high = groups.prefix(4).reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
            let low = groups.dropFirst(4).reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
            self = .v6(high: high, low: low)
        } else {
            return nil
        }
    }

    /// The address in network byte order: 4 or 16 octets.
    public var octets: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// `true` for IPv4 addresses.
    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return Self.dottedQuad(value)
        case .v6(let high, let low):
            return Self.rfc5952(high: high, low: low)
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return (ah, al) < (bh, bl)
        }
    }

    // MARK: Text forms

    private static func dottedQuad(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    /// RFC 5952 §4: recommended text representation of an IPv6 address.
    private static func rfc5952(high: UInt64, low: UInt64) -> String {
        let groups =
            (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
            + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
        // RFC 5952 §5: IPv4-mapped addresses (::ffff:0:0/96) end in a dotted quad.
        if high == 0, low >> 32 == 0xFFFF {
            return "::ffff:" + dottedQuad(UInt32(truncatingIfNeeded: low))
        }
        // §4.2.1–4.2.3: shorten the longest run of at least two zero groups, the first one on a tie.
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        // §4.1 and §4.3: no leading zeros, lower case.
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    private static func parseDottedQuad(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let octet = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(octet)
        }
        return value
    }

    private static func parseIPv6Groups(_ text: Substring) -> [UInt16]? {
        // Split at "::" (at most once), then parse each side's groups.
        var head = text
        var tail: Substring? = nil
        if let range = text.firstRange(of: "::") {
            head = text[..<range.lowerBound]
            tail = text[range.upperBound...]
            if tail?.contains("::") == true { return nil }
        }
        guard let headGroups = parseGroupList(head, allowTrailingIPv4: tail == nil) else { return nil }
        guard let tail else {
            return headGroups.count == 8 ? headGroups : nil
        }
        guard let tailGroups = parseGroupList(tail, allowTrailingIPv4: true) else { return nil }
        let zeros = 8 - headGroups.count - tailGroups.count
        guard zeros >= 1 else { return nil }
        return headGroups + Array(repeating: 0, count: zeros) + tailGroups
    }

    private static func parseGroupList(_ text: Substring, allowTrailingIPv4: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1, allowTrailingIPv4, part.contains(".") {
                guard let v4 = parseDottedQuad(part) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: v4 >> 16))
                groups.append(UInt16(truncatingIfNeeded: v4))
                continue
            }
            guard (1...4).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isHexDigit }),
                let group = UInt16(part, radix: 16)
            else { return nil }
            groups.append(group)
        }
        return groups.count <= 8 ? groups : nil
    }
}

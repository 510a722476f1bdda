import PPP

/// The client addresses a server hands out: ranges of IPv4 addresses, the lowest free first,
/// with fixed addresses reserved for the users that have them.
public struct AddressPool: Sendable {
    public let ranges: [ClosedRange<UInt32>]
    private var inUse = Set<UInt32>()
    private var cursor: Int = 0
    private var cursorValue: UInt32?

    public init(ranges: [ClosedRange<IPv4Address>]) {
        self.ranges = ranges.map { $0.lowerBound.rawValue...$0.upperBound.rawValue }
        self.cursorValue = self.ranges.first?.lowerBound
    }

    /// Parses "203.0.113.10-203.0.113.200", "203.0.113.0/25" or a single address.
    public static func parseRange(_ text: String) -> ClosedRange<IPv4Address>? {
        if let dash = text.firstIndex(of: "-") {
            guard let low = IPv4Address(String(text[..<dash]).trimmingSpaces),
                let high = IPv4Address(String(text[text.index(after: dash)...]).trimmingSpaces),
                low <= high
            else { return nil }
            return low...high
        }
        if let slash = text.firstIndex(of: "/") {
            guard let base = IPv4Address(String(text[..<slash])), let prefix = Int(text[text.index(after: slash)...]),
                (0...32).contains(prefix)
            else {
                return nil
            }
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
            let network = base.rawValue & mask
            let broadcast = network | ~mask
            // Leave out the network and broadcast addresses of subnets larger than /31.
            if prefix <= 30 { return IPv4Address(rawValue: network + 1)...IPv4Address(rawValue: broadcast - 1) }
            return IPv4Address(rawValue: network)...IPv4Address(rawValue: broadcast)
        }
        guard let single = IPv4Address(text) else { return nil }
        return single...single
    }

    public var capacity: Int { ranges.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 } }
    public var allocatedCount: Int { inUse.count }

    public func contains(_ address: IPv4Address) -> Bool { ranges.contains { $0.contains(address.rawValue) } }
    public func isInUse(_ address: IPv4Address) -> Bool { inUse.contains(address.rawValue) }

    /// A free address, or nil when the pool is exhausted. Addresses are handed out round-robin
    /// so a just-released address is not reused at once.
    public mutating func allocate() -> IPv4Address? {
        let total = capacity
        guard inUse.count < total, !ranges.isEmpty else { return nil }
        for _ in 0..<total {
            guard let value = cursorValue else { return nil }
            advanceCursor()
            if !inUse.contains(value) {
                inUse.insert(value)
                return IPv4Address(rawValue: value)
            }
        }
        return nil
    }

    private mutating func advanceCursor() {
        guard let value = cursorValue else { return }
        if value < ranges[cursor].upperBound {
            cursorValue = value + 1
        } else {
            cursor = (cursor + 1) % ranges.count
            cursorValue = ranges[cursor].lowerBound
        }
    }

    /// An address of the pool for a session that shares it (load tests with an exhausted pool):
    /// handed out round-robin, not marked in use.
    public mutating func shared() -> IPv4Address? {
        guard let value = cursorValue else { return nil }
        advanceCursor()
        return IPv4Address(rawValue: value)
    }

    /// Reserves a specific (fixed) address; false when it is already in use.
    public mutating func reserve(_ address: IPv4Address) -> Bool {
        inUse.insert(address.rawValue).inserted
    }

    public mutating func release(_ address: IPv4Address) {
        inUse.remove(address.rawValue)
    }

    /// The smallest set of CIDR blocks covering the pool, for the routes into the TUN device.
    public var coveringPrefixes: [(address: IPv4Address, prefixLength: Int)] {
        var prefixes: [(IPv4Address, Int)] = []
        for range in ranges {
            var low = UInt64(range.lowerBound)
            let high = UInt64(range.upperBound)
            while low <= high {
                var size: UInt64 = 1
                var length = 32
                while length > 0 {
                    let next = size << 1
                    if low % next != 0 || low + next - 1 > high { break }
                    size = next
                    length -= 1
                }
                prefixes.append((IPv4Address(rawValue: UInt32(low)), length))
                low += size
            }
        }
        return prefixes
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}

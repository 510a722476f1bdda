/// The header of an IPv4 packet (RFC 791 §3.1) at the start of a buffer, parsed once with its bounds checked, as
/// smoltcp's `Ipv4Packet` view: the raw GRE socket reads the outer header with it (raw(7): "the IP header is always
/// included" on receipt), the data path the inner one of a decrypted frame, the capture reader its packets.
/// `build` makes a packet, for the tools and the tests.
public struct IPv4Packet: Hashable, Sendable {
    /// IHL × 4: where the payload starts (20 to 60 octets).
    public var headerLength: Int
    /// Total Length: header plus payload.
    public var totalLength: Int
    /// The Protocol field (1 ICMP, 6 TCP, 17 UDP, 47 GRE).
    public var protocolNumber: UInt8
    public var source: IPv4Address
    public var destination: IPv4Address
    /// More-Fragments set or a non-zero fragment offset. A raw socket never delivers one (the kernel
    /// reassembles first); inside a tunnel a fragment is an ordinary packet.
    public var isFragment: Bool

    /// Why octets are not an IPv4 packet.
    public enum Rejection: Error, Hashable, Sendable {
        /// Fewer than 20 octets, or fewer than IHL × 4.
        case short
        /// Version not 4, or IHL below 5.
        case malformed
        /// Total Length below the header length or above the octets given.
        case lengthMismatch
    }

    public static let minimumHeaderLength = 20

    /// Parses and checks the header at the start of `bytes`; octets beyond Total Length are ignored (link
    /// padding). The checksum is not checked here: see `headerChecksumIsValid`.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<IPv4Packet, Rejection> {
        guard bytes.count >= minimumHeaderLength else { return .failure(.short) }
        let versionAndLength = bytes[0]
        // RFC 791 §3.1: Version 4; IHL counts 32-bit words and is at least 5.
        guard versionAndLength >> 4 == 4, versionAndLength & 0x0F >= 5 else { return .failure(.malformed) }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard bytes.count >= headerLength else { return .failure(.short) }
        let totalLength = Int(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        guard totalLength >= headerLength, totalLength <= bytes.count else { return .failure(.lengthMismatch) }
        let fragment = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        return .success(
            IPv4Packet(
                headerLength: headerLength,
                totalLength: totalLength,
                protocolNumber: bytes[9],
                source: IPv4Address(
                    rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                ),
                destination: IPv4Address(
                    rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
                ),
                // Flags: bit 0x2000 is MF; the low 13 bits are the fragment offset.
                isFragment: fragment & 0x3FFF != 0
            )
        )
    }

    /// The source address of the IPv4 packet in `bytes`, if it has a whole fixed header (a cheaper read than
    /// `parse` for the anti-spoofing check of every packet from a client).
    @inlinable
    public static func source(of bytes: UnsafeRawBufferPointer) -> IPv4Address? {
        guard bytes.count >= minimumHeaderLength else { return nil }
        return IPv4Address(rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
    }

    /// The destination address, as `source(of:)`.
    @inlinable
    public static func destination(of bytes: UnsafeRawBufferPointer) -> IPv4Address? {
        guard bytes.count >= minimumHeaderLength else { return nil }
        return IPv4Address(rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
    }

    /// Whether the first `headerLength` octets of `bytes` carry a correct header checksum: RFC 791 §3.1, the one's
    /// complement sum of the header, checksum included, is 0xFFFF.
    @inlinable
    public static func headerChecksumIsValid(_ bytes: UnsafeRawBufferPointer, headerLength: Int) -> Bool {
        guard headerLength <= bytes.count else { return false }
        return onesComplementSum(UnsafeRawBufferPointer(rebasing: bytes[0..<headerLength])) == 0xFFFF
    }

    /// The Internet checksum of `bytes` (RFC 1071): the one's complement of their one's complement sum.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        ~onesComplementSum(bytes)
    }

    @inlinable
    static func onesComplementSum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum &+= UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum &+= UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF {
            sum = (sum & 0xFFFF) &+ (sum >> 16)
        }
        return UInt16(sum)
    }

    /// A packet with a 20-octet header (no options, Don't-Fragment, TTL 64) and a correct checksum.
    public static func build(
        source: IPv4Address,
        destination: IPv4Address,
        protocolNumber: UInt8,
        identification: UInt16 = 0x1234,
        payload: [UInt8]
    ) -> [UInt8] {
        let total = minimumHeaderLength + payload.count
        var header: [UInt8] = [
            0x45, 0, UInt8(truncatingIfNeeded: total >> 8), UInt8(truncatingIfNeeded: total),
            UInt8(truncatingIfNeeded: identification >> 8), UInt8(truncatingIfNeeded: identification),
            0x40, 0, 64, protocolNumber, 0, 0,
        ]
        header += source.octets + destination.octets
        let sum = header.withUnsafeBytes { checksum($0) }
        header[10] = UInt8(truncatingIfNeeded: sum >> 8)
        header[11] = UInt8(truncatingIfNeeded: sum)
        return header + payload
    }

    @inlinable
    init(
        headerLength: Int,
        totalLength: Int,
        protocolNumber: UInt8,
        source: IPv4Address,
        destination: IPv4Address,
        isFragment: Bool
    ) {
        self.headerLength = headerLength
        self.totalLength = totalLength
        self.protocolNumber = protocolNumber
        self.source = source
        self.destination = destination
        self.isFragment = isFragment
    }
}

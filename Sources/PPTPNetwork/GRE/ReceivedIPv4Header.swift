import PPP

/// The fields of the IPv4 header (RFC 791 §3.1) that a raw IPv4 socket puts in front of every
/// datagram it delivers (raw(7): "the IP header is always included" on receipt). The kernel has
/// already checked the header checksum and reassembled fragments; this parse checks the bounds
/// again, since the buffer is ours and the lengths are the peer's.
public struct ReceivedIPv4Header: Hashable, Sendable {
    /// IHL × 4: where the payload starts (20 to 60 octets).
    public var headerLength: Int
    /// Total Length: header plus payload.
    public var totalLength: Int
    /// The Protocol field (47 for GRE).
    public var protocolNumber: UInt8
    public var source: IPv4Address
    public var destination: IPv4Address

    /// Why a received datagram was not accepted.
    public enum Rejection: Error, Hashable, Sendable {
        /// Fewer than 20 octets, or fewer than IHL × 4.
        case short
        /// Version not 4, or IHL below 5.
        case malformed
        /// Total Length below the header length or above the octets received.
        case lengthMismatch
        /// More-Fragments set or a non-zero fragment offset: a fragment, which a raw socket
        /// should never deliver since the kernel reassembles first.
        case fragment
    }

    /// Parses and checks the header at the start of `bytes` (what the socket delivered).
    /// Octets beyond Total Length are ignored.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<ReceivedIPv4Header, Rejection> {
        guard bytes.count >= 20 else { return .failure(.short) }
        let versionAndLength = bytes[0]
        // RFC 791 §3.1: Version 4; IHL counts 32-bit words and is at least 5.
        guard versionAndLength >> 4 == 4, versionAndLength & 0x0F >= 5 else { return .failure(.malformed) }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard bytes.count >= headerLength else { return .failure(.short) }
        let totalLength = Int(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        guard totalLength >= headerLength, totalLength <= bytes.count else { return .failure(.lengthMismatch) }
        let fragment = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        // Flags: bit 0x2000 is MF; the low 13 bits are the fragment offset.
        guard fragment & 0x3FFF == 0 else { return .failure(.fragment) }
        return .success(
            ReceivedIPv4Header(
                headerLength: headerLength,
                totalLength: totalLength,
                protocolNumber: bytes[9],
                source: IPv4Address(
                    rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                ),
                destination: IPv4Address(
                    rawValue: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
                )
            )
        )
    }

    @inlinable
    init(headerLength: Int, totalLength: Int, protocolNumber: UInt8, source: IPv4Address, destination: IPv4Address) {
        self.headerLength = headerLength
        self.totalLength = totalLength
        self.protocolNumber = protocolNumber
        self.source = source
        self.destination = destination
    }
}

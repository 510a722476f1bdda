import NIOCore

/// The fixed fields of an IPv4 header (RFC 791 §3.1). Options are skipped, not decoded.
public struct IPv4Header: Hashable, Sendable {
    /// Header length in octets (IHL × 4, 20 … 60).
    public var headerLength: Int
    /// Type of Service / DSCP and ECN octet.
    public var typeOfService: UInt8
    /// Total Length: header plus data, in octets.
    public var totalLength: Int
    /// Identification, shared by the fragments of one datagram.
    public var identification: UInt16
    /// The DF flag.
    public var dontFragment: Bool
    /// The MF flag: more fragments follow.
    public var moreFragments: Bool
    /// Fragment Offset in octets (the field counts 8-octet units).
    public var fragmentOffset: Int
    /// Time to Live.
    public var timeToLive: UInt8
    /// The Protocol field.
    public var payloadProtocol: IPProtocol
    /// The Header Checksum as received.
    public var headerChecksum: UInt16
    /// Source address.
    public var source: IPAddress
    /// Destination address.
    public var destination: IPAddress

    /// `true` when this packet is one fragment of a larger datagram (RFC 791 §2.3: MF set or offset non-zero).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
}

/// An IPv4 packet split into its header and its data, with the header checksum checked.
public struct IPv4Packet: Hashable, Sendable {
    /// The header.
    public var header: IPv4Header
    /// The data after the header and its options, cut to Total Length (link-layer padding is dropped).
    public var payload: ByteBuffer
    /// The checksum the header should carry: the ones' complement of the sum of the header with the checksum
    /// field taken as zero (RFC 791 §3.1, RFC 1071).
    public var computedChecksum: UInt16
    /// `true` when the ones' complement sum of the whole header, checksum included, is all ones (RFC 1071 §2(4)).
    public var hasValidChecksum: Bool

    /// Parses `packet`, which starts with the version nibble.
    ///
    /// Throws `.truncatedIPHeader`, `.badIPVersion`, `.badIPv4HeaderLength` or `.ipLengthOutOfRange` (the last
    /// also for a packet cut short by the capture's snap length).
    public init(parsing packet: ByteBuffer) throws(CaptureError) {
        var bytes = packet
        let available = bytes.readableBytes
        guard
            let (
                versionAndLength, tos, totalLength, identification, flagsAndOffset, ttl, proto, checksum, source,
                destination
            ) = bytes.readMultipleIntegers(
                as: (UInt8, UInt8, UInt16, UInt16, UInt16, UInt8, UInt8, UInt16, UInt32, UInt32).self
            )
        else {
            throw .truncatedIPHeader(needed: 20, available: available)
        }
        guard versionAndLength >> 4 == 4 else { throw .badIPVersion(versionAndLength >> 4) }
        let ihl = versionAndLength & 0x0F
        guard ihl >= 5 else { throw .badIPv4HeaderLength(ihl) }
        let headerLength = Int(ihl) * 4
        guard headerLength <= available else {
            throw .truncatedIPHeader(needed: headerLength, available: available)
        }
        guard Int(totalLength) >= headerLength, Int(totalLength) <= available else {
            throw .ipLengthOutOfRange(claimed: Int(totalLength), headerLength: headerLength, available: available)
        }
        header = IPv4Header(
            headerLength: headerLength,
            typeOfService: tos,
            totalLength: Int(totalLength),
            identification: identification,
            dontFragment: flagsAndOffset & 0x4000 != 0,
            moreFragments: flagsAndOffset & 0x2000 != 0,
            fragmentOffset: Int(flagsAndOffset & 0x1FFF) * 8,
            timeToLive: ttl,
            payloadProtocol: IPProtocol(rawValue: proto),
            headerChecksum: checksum,
            source: .v4(source),
            destination: .v4(destination)
        )
        let headerBytes = packet.readableBytesView.prefix(headerLength)
        hasValidChecksum = InternetChecksum.sum(headerBytes) == 0xFFFF
        var zeroed = ByteBuffer(headerBytes)
        zeroed.setInteger(UInt16(0), at: zeroed.readerIndex + 10)
        computedChecksum = ~InternetChecksum.sum(zeroed.readableBytesView)
        // Options (RFC 791 §3.1) are skipped.
        payload =
            packet.getSlice(at: packet.readerIndex + headerLength, length: Int(totalLength) - headerLength)
            ?? ByteBuffer()
    }
}

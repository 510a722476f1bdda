/// Everything that can go wrong while reading or writing a capture, or while decoding one frame of it.
///
/// File-level cases (the first group) end the reading of a file: the frames read before the damage stay valid and
/// are handed out before the error. Packet-level cases (the second group) concern a single frame; the demultiplexer
/// reports them as a `CaptureDiagnostic.malformed(_:)` and carries on with the next frame.
///
/// Payloads are numbers (offsets, lengths, codes) that a log line can print; there are no `String` reasons.
public enum CaptureError: Error, Hashable, Sendable {
    // MARK: File level: pcap and pcapng containers

    /// The file is shorter than its pcap file header (24 octets), or too short (under 4 octets) to tell its
    /// format. A pcapng file cut inside its first block gives `.truncatedBlock` instead.
    case truncatedFileHeader(needed: Int, available: Int)
    /// The first four octets are neither a pcap magic number (both byte orders, µs and ns) nor a pcapng Section
    /// Header Block type; the payload is those octets read big-endian.
    case unknownFileFormat(magic: UInt32)
    /// A pcap file header with a major version other than 2 (draft-ietf-opsawg-pcap §4).
    case unsupportedPcapVersion(major: UInt16, minor: UInt16)
    /// The file ends inside a pcap record header (16 octets). `frame` is the number the record would have had.
    case truncatedRecordHeader(frame: Int, offset: Int, needed: Int, available: Int)
    /// The file ends inside the packet data of a pcap record, or a pcapng packet block claims more captured
    /// octets than its block holds.
    case truncatedRecordData(frame: Int, offset: Int, needed: Int, available: Int)
    /// A pcap record claims a captured length larger than `CaptureFileReader.maximumRecordLength`.
    case recordTooLarge(frame: Int, offset: Int, length: UInt32)
    /// The file ends inside a pcapng block.
    case truncatedBlock(offset: Int, needed: Int, available: Int)
    /// A pcapng Block Total Length that is below 12, not a multiple of 4, or too small for the block's fixed
    /// fields (draft-ietf-opsawg-pcapng §3.1).
    case invalidBlockLength(offset: Int, blockType: UInt32, length: UInt32)
    /// The trailing Block Total Length of a pcapng block differs from the leading one.
    case blockLengthMismatch(offset: Int, leading: UInt32, trailing: UInt32)
    /// A pcapng Section Header Block whose Byte-Order Magic is neither 0x1A2B3C4D nor its byte swap.
    case badByteOrderMagic(offset: Int, magic: UInt32)
    /// A pcapng Section Header Block with a major version other than 1.
    case unsupportedSectionVersion(offset: Int, major: UInt16, minor: UInt16)
    /// A pcapng packet block names an interface that its section has not described with an IDB.
    case unknownInterface(offset: Int, interfaceID: UInt32)
    /// A pcapng option runs past the end of its block (draft-ietf-opsawg-pcapng §3.5).
    case malformedOption(offset: Int, code: UInt16, length: UInt16)

    // MARK: Packet level: link layer, IP, TCP (reported per frame, reading goes on)

    /// The frame is shorter than its link-layer header.
    case truncatedLinkHeader(linkType: LinkType, needed: Int, available: Int)
    /// The frame is shorter than the IP header it announces (20 octets for IPv4, 40 for IPv6, or IHL × 4).
    case truncatedIPHeader(needed: Int, available: Int)
    /// The IP version nibble is neither 4 nor 6 (or does not match the link layer's protocol type).
    case badIPVersion(UInt8)
    /// An IPv4 Internet Header Length below 5 words (RFC 791 §3.1).
    case badIPv4HeaderLength(UInt8)
    /// An IP total length (IPv4) or payload length (IPv6) that is shorter than the header or longer than the
    /// captured octets (for example a capture made with a small snap length).
    case ipLengthOutOfRange(claimed: Int, headerLength: Int, available: Int)
    /// An IPv6 extension header that runs past the end of the packet (RFC 8200 §4).
    case truncatedIPv6ExtensionHeader(nextHeader: UInt8, needed: Int, available: Int)
    /// More IPv6 extension headers in one packet than `IPv6Packet.maximumExtensionHeaders`.
    case tooManyIPv6ExtensionHeaders(count: Int)
    /// An IPv6 Jumbo Payload (payload length 0 with a Hop-by-Hop header, RFC 2675), which this reader does not
    /// support.
    case unsupportedIPv6Jumbogram
    /// A reassembled IPv6 packet whose fragmentable part holds another Fragment header (RFC 8200 §4.5).
    case nestedIPv6FragmentHeader
    /// The frame is shorter than the TCP header it announces (20 octets, or Data Offset × 4).
    case truncatedTCPHeader(needed: Int, available: Int)
    /// A TCP Data Offset below 5 words (RFC 9293 §3.1).
    case badTCPDataOffset(UInt8)

    // MARK: Writing and files

    /// A packet or timestamp that the pcap format cannot hold (longer than 2^32 − 1 octets, or seconds outside
    /// 0 ..< 2^32).
    case notRepresentableInPcap(length: Int, seconds: Int64)
    /// Opening, reading or writing a file failed; the payload is the `errno` value.
    case fileSystem(errno: Int32)
}

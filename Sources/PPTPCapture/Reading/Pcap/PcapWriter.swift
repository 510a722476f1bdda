import NIOCore

/// Writes a classic pcap file (draft-ietf-opsawg-pcap) into memory: a file header, then one record per packet.
///
/// Used to export decrypted inner traffic. With link type `.raw` (101) each packet is an IPv4 or IPv6 packet; with
/// `.ethernet` each packet is a whole Ethernet frame, and `writeIPPacket(_:timestamp:)` adds a synthetic
/// Ethernet header in front of an IP packet.
///
/// ```swift
/// var writer = PcapWriter(linkType: .raw, resolution: .nanoseconds)
/// try writer.write(packet: ipPacket, timestamp: time)
/// try CaptureFile.write(writer.bytes, to: "inner.pcap")
/// ```
public struct PcapWriter: Sendable {
    /// The link-layer header type written in the file header.
    public let linkType: LinkType
    /// Microsecond or nanosecond timestamps (magic 0xA1B2C3D4 or 0xA1B23C4D).
    public let resolution: PcapTimestampResolution
    /// The snap length written in the file header; longer packets are cut to it (their original length is kept).
    public let snapLength: UInt32
    /// The byte order of the header fields.
    public let byteOrder: Endianness
    /// The file so far.
    public private(set) var bytes: ByteBuffer
    /// Records written so far.
    public private(set) var packetsWritten = 0

    /// Starts a file with its 24-octet header.
    public init(
        linkType: LinkType,
        resolution: PcapTimestampResolution = .microseconds,
        snapLength: UInt32 = 262_144,
        byteOrder: Endianness = .little
    ) {
        self.linkType = linkType
        self.resolution = resolution
        self.snapLength = max(snapLength, 1)
        self.byteOrder = byteOrder
        var header = ByteBuffer()
        header.reserveCapacity(24)
        header.writeMultipleIntegers(
            resolution == .microseconds ? UInt32(0xA1B2_C3D4) : UInt32(0xA1B2_3C4D),
            UInt16(2),  // version 2.4
            UInt16(4),
            UInt32(0),  // reserved (was thiszone)
            UInt32(0),  // reserved (was sigfigs)
            self.snapLength,
            linkType.rawValue & 0xFFFF,
            endianness: byteOrder
        )
        self.bytes = header
    }

    /// Appends one record.
    ///
    /// Throws `.notRepresentableInPcap` when the timestamp lies before 1970 or after 2106 (pcap seconds are an
    /// unsigned 32-bit field) or the packet is longer than 2^32 − 1 octets.
    public mutating func write(packet: some Collection<UInt8>, timestamp: CaptureTimestamp) throws(CaptureError) {
        guard let seconds = UInt32(exactly: timestamp.seconds), let originalLength = UInt32(exactly: packet.count)
        else {
            throw .notRepresentableInPcap(length: packet.count, seconds: timestamp.seconds)
        }
        let fraction = resolution == .microseconds ? timestamp.nanoseconds / 1_000 : timestamp.nanoseconds
        let capturedLength = min(originalLength, snapLength)
        bytes.writeMultipleIntegers(seconds, fraction, capturedLength, originalLength, endianness: byteOrder)
        bytes.writeBytes(packet.prefix(Int(capturedLength)))
        packetsWritten += 1
    }

    /// Appends one record of an IP packet: as is for raw link types, behind a synthetic Ethernet header (locally
    /// administered addresses 02:00:00:00:00:02 → 02:00:00:00:00:01, EtherType from the version nibble) for
    /// `.ethernet`, behind a BSD loopback header for `.null`.
    public mutating func writeIPPacket(_ packet: [UInt8], timestamp: CaptureTimestamp) throws(CaptureError) {
        let isIPv6 = (packet.first ?? 0) >> 4 == 6
        switch linkType {
        case .ethernet:
            var frame: [UInt8] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]
            frame += isIPv6 ? [0x86, 0xDD] : [0x08, 0x00]
            try write(packet: frame + packet, timestamp: timestamp)
        case .null:
            // AF_INET6 differs between systems; 24 (NetBSD, OpenBSD) is the value every reader accepts.
            let family: UInt32 = isIPv6 ? 24 : 2
            let header = (0..<4).map { UInt8(truncatingIfNeeded: family >> (8 * $0)) }
            try write(packet: header + packet, timestamp: timestamp)
        default:
            try write(packet: packet, timestamp: timestamp)
        }
    }
}

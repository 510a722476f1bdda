import NIOCore

/// One packet record of a capture file: the captured octets and what the file says about them.
public struct CaptureFrame: Hashable, Sendable {
    /// The frame number, counting packet records from 1 across the whole file (as Wireshark numbers them).
    public var number: Int
    /// When the frame was captured.
    public var timestamp: CaptureTimestamp
    /// `false` for pcapng Simple Packet Blocks, which carry no time: `timestamp` is then the previous frame's.
    public var hasTimestamp: Bool
    /// The link-layer header type of `data`.
    public var linkType: LinkType
    /// The length of the packet on the wire, which may exceed `data.readableBytes` when the capture was cut by a
    /// snap length.
    public var originalLength: Int
    /// The captured octets, starting with the link-layer header.
    public var data: ByteBuffer
    /// The pcapng interface (its index within its section); 0 for pcap files.
    public var interfaceID: Int

    /// Creates a frame record.
    public init(
        number: Int,
        timestamp: CaptureTimestamp,
        hasTimestamp: Bool = true,
        linkType: LinkType,
        originalLength: Int,
        data: ByteBuffer,
        interfaceID: Int = 0
    ) {
        self.number = number
        self.timestamp = timestamp
        self.hasTimestamp = hasTimestamp
        self.linkType = linkType
        self.originalLength = originalLength
        self.data = data
        self.interfaceID = interfaceID
    }
}

/// The resolution of classic pcap timestamps, chosen by the magic number (draft-ietf-opsawg-pcap §4).
public enum PcapTimestampResolution: Hashable, Sendable {
    /// Magic 0xA1B2C3D4: the fraction field counts microseconds.
    case microseconds
    /// Magic 0xA1B23C4D: the fraction field counts nanoseconds.
    case nanoseconds
}

/// The 24-octet file header of a classic pcap file (draft-ietf-opsawg-pcap §4).
public struct PcapFileHeader: Hashable, Sendable {
    /// The byte order of every header field in the file.
    public var byteOrder: Endianness
    /// Microsecond or nanosecond timestamps.
    public var resolution: PcapTimestampResolution
    /// Major version, 2 in every file this reader accepts.
    public var majorVersion: UInt16
    /// Minor version, normally 4.
    public var minorVersion: UInt16
    /// The largest number of octets captured from any packet.
    public var snapLength: UInt32
    /// The link-layer header type of every record (the low 16 bits of the LinkType field).
    public var linkType: LinkType
    /// The number of FCS octets at the end of each frame when the header says (P bit set), else `nil`. IP
    /// parsing ignores the FCS anyway, since it stops at the IP length.
    public var fcsLength: Int?
}

/// The container format of a capture file, known once its first octets have been read.
public enum CaptureFileFormat: Hashable, Sendable {
    /// A classic pcap file with its header.
    case pcap(PcapFileHeader)
    /// A pcapng file (draft-ietf-opsawg-pcapng); each section may have its own byte order and interfaces.
    case pcapng
}

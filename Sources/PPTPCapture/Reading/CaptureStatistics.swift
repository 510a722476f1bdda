/// Counters over a whole capture.
public struct CaptureStatistics: Hashable, Sendable {
    /// Frames read.
    public var frames = 0
    /// Frames read, by link-layer header type.
    public var framesByLinkType: [LinkType: Int] = [:]
    /// Frames that could not be decoded (truncated or invalid headers).
    public var malformedFrames = 0
    /// Frames of other network protocols (ARP, …), by EtherType.
    public var nonIPFrames: [EtherType: Int] = [:]
    /// Frames of link-layer types (or loopback families) this reader does not decode.
    public var unsupportedFrames = 0
    /// IPv4 packets parsed (fragments included).
    public var ipv4Packets = 0
    /// IPv6 packets parsed (fragments included).
    public var ipv6Packets = 0
    /// IPv4 headers whose checksum did not match.
    public var ipv4ChecksumErrors = 0
    /// Complete IP datagrams: unfragmented packets plus reassembled ones.
    public var ipDatagrams = 0
    /// Complete IP datagrams by protocol.
    public var datagramsByProtocol: [IPProtocol: Int] = [:]
    /// Fragment reassembly counters.
    public var fragments = FragmentStatistics()
    /// GRE datagrams (protocol 47), after reassembly.
    public var greDatagrams = 0
    /// TCP counters.
    public var tcp = TCPStatistics()

    /// Creates zeroed counters.
    public init() {}
}

/// TCP counters of a capture.
public struct TCPStatistics: Hashable, Sendable {
    /// TCP segments to or from a control port.
    public var controlSegments = 0
    /// Of those, segments that carry data (retransmissions included, as tshark counts `tcp.len > 0`).
    public var controlSegmentsWithPayload = 0
    /// TCP segments on other ports, skipped.
    public var otherSegments = 0
    /// Control connections seen.
    public var connections = 0
    /// In-order octets delivered towards the server.
    public var bytesToServer = 0
    /// In-order octets delivered towards the client.
    public var bytesToClient = 0
    /// Octets received again (retransmitted or overlapping) and dropped.
    public var duplicateBytes = 0
    /// Segments that arrived out of order and were buffered.
    public var outOfOrderSegments = 0
    /// Holes given up, and the octets missing in them.
    public var gaps = 0
    /// Octets missing in the holes given up.
    public var gapBytes = 0
    /// Control-port segments that arrived after their connection closed.
    public var segmentsAfterClose = 0

    /// Creates zeroed counters.
    public init() {}
}

/// What the demultiplexer follows and how much it holds.
public struct CaptureConfiguration: Hashable, Sendable {
    /// TCP ports whose connections are reassembled as PPTP control connections (RFC 2637 §2: 1723).
    public var controlPorts: Set<UInt16>
    /// Fragment reassembly limits.
    public var fragmentReassembly: FragmentReassemblyConfiguration
    /// The most out-of-order octets held per connection direction before a hole is given up.
    public var maximumBufferedBytesPerDirection: Int
    /// The most out-of-order segments held per connection direction before a hole is given up.
    public var maximumBufferedSegmentsPerDirection: Int
    /// The most control connections followed at once (closed ones count until they are evicted).
    public var maximumConnections: Int
    /// Drop IPv4 packets with a bad header checksum instead of only reporting them. Off by default: captures taken
    /// on a sending host often show checksums that the NIC fills in later.
    public var dropIPv4ChecksumErrors: Bool
    /// Emit a `.skipped` diagnostic for every frame or datagram skipped (they are counted either way).
    public var reportSkippedFrames: Bool
    /// Emit a `.fragmentHeld` diagnostic for every fragment held for reassembly.
    public var reportFragments: Bool

    /// Creates a configuration; the defaults follow port 1723 and hold 1 MiB per direction.
    public init(
        controlPorts: Set<UInt16> = [1723],
        fragmentReassembly: FragmentReassemblyConfiguration = .init(),
        maximumBufferedBytesPerDirection: Int = 1 << 20,
        maximumBufferedSegmentsPerDirection: Int = 1024,
        maximumConnections: Int = 1024,
        dropIPv4ChecksumErrors: Bool = false,
        reportSkippedFrames: Bool = true,
        reportFragments: Bool = true
    ) {
        self.controlPorts = controlPorts
        self.fragmentReassembly = fragmentReassembly
        self.maximumBufferedBytesPerDirection = maximumBufferedBytesPerDirection
        self.maximumBufferedSegmentsPerDirection = maximumBufferedSegmentsPerDirection
        self.maximumConnections = max(1, maximumConnections)
        self.dropIPv4ChecksumErrors = dropIPv4ChecksumErrors
        self.reportSkippedFrames = reportSkippedFrames
        self.reportFragments = reportFragments
    }
}

/// A TCP connection of the PPTP control protocol, oriented so that the server is the side on a control port
/// (1723 by default, RFC 2637 §2).
public struct TCPConnectionKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The client's address (the PNS for a PPTP VPN client).
    public var client: IPAddress
    /// The client's port.
    public var clientPort: UInt16
    /// The server's address.
    public var server: IPAddress
    /// The server's port (a control port).
    public var serverPort: UInt16

    /// Creates a key.
    public init(client: IPAddress, clientPort: UInt16, server: IPAddress, serverPort: UInt16) {
        self.client = client
        self.clientPort = clientPort
        self.server = server
        self.serverPort = serverPort
    }

    public static func < (lhs: TCPConnectionKey, rhs: TCPConnectionKey) -> Bool {
        (lhs.client, lhs.clientPort, lhs.server, lhs.serverPort) < (
            rhs.client, rhs.clientPort, rhs.server, rhs.serverPort
        )
    }

    /// `192.0.2.2:60956 -> 192.0.2.1:1723`, with IPv6 addresses in brackets.
    public var description: String {
        "\(Self.endpoint(client, clientPort)) -> \(Self.endpoint(server, serverPort))"
    }

    private static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}

/// Which way data flows on a control connection.
public enum TCPDirection: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// From the client to the server (the control port side).
    case toServer
    /// From the server to the client.
    case toClient

    public var description: String {
        switch self {
        case .toServer: "to server"
        case .toClient: "to client"
        }
    }
}

/// How a control connection came to be seen.
public enum TCPOpening: Hashable, Sendable {
    /// Its SYN was captured.
    case handshake
    /// The capture starts in the middle of it: each direction starts at its first sequence number seen.
    case midStream
}

/// Why a control connection is no longer followed.
public enum TCPCloseReason: Hashable, Sendable {
    /// Both sides' FINs were delivered in order.
    case fin
    /// A RST was seen.
    case reset
    /// A new SYN reused the connection's addresses and ports.
    case replaced
    /// Too many connections were followed at once; this was the least recently active.
    case evicted
    /// The capture ended while it was open.
    case endOfCapture
}

/// Frames or datagrams that were counted and not decoded further.
public enum SkipReason: Hashable, Sendable {
    /// A frame of another network protocol (ARP, …).
    case notIP(EtherType)
    /// A BSD loopback frame of another address family.
    case unknownAddressFamily(UInt32)
    /// A link-layer header type this reader does not decode.
    case unsupportedLinkType(LinkType)
    /// An IP datagram of a protocol other than TCP and GRE.
    case otherProtocol(IPProtocol)
    /// A TCP segment on neither side of a control port.
    case tcpNotOnControlPort(sourcePort: UInt16, destinationPort: UInt16)
    /// A control-port segment for a connection already closed (retransmitted FIN, late ACK).
    case tcpAfterClose
    /// An IPv4 packet dropped for its header checksum (only with `dropIPv4ChecksumErrors`).
    case ipv4ChecksumError
}

/// Something noteworthy about a frame that does not change the decoded streams.
public enum CaptureDiagnostic: Hashable, Sendable {
    /// The frame could not be decoded at the link, IP or TCP layer.
    case malformed(CaptureError)
    /// An IPv4 header whose checksum does not match (RFC 791 §3.1). The packet is still used unless
    /// `CaptureConfiguration.dropIPv4ChecksumErrors` is set.
    case ipv4ChecksumMismatch(source: IPAddress, destination: IPAddress, stored: UInt16, computed: UInt16)
    /// An IP fragment (the frame's packet was held for reassembly).
    case fragmentHeld(FragmentKey, offset: Int, moreFragments: Bool)
    /// A fragment that repeated data already held, dropped.
    case duplicateFragment(FragmentKey)
    /// A datagram whose reassembly was given up, with the frames of the fragments that were held.
    case fragmentsAbandoned(FragmentKey, reason: FragmentAbandonReason, frames: [Int])
    /// A frame or datagram that was counted and skipped (only with `reportSkippedFrames`).
    case skipped(SkipReason)
}

/// One step of a capture, in frame order: control connection data, GRE datagrams, and diagnostics.
///
/// Every event names the frame (numbered from 1) whose arrival produced it, and that frame's capture time.
public enum CaptureEvent: Hashable, Sendable {
    /// A control connection was seen for the first time.
    case tcpOpened(connection: TCPConnectionKey, opening: TCPOpening, frame: Int, time: CaptureTimestamp)
    /// Octets of a control connection that are newly in order in `direction`.
    case controlData(
        connection: TCPConnectionKey,
        direction: TCPDirection,
        bytes: [UInt8],
        frame: Int,
        time: CaptureTimestamp
    )
    /// Octets of a control connection that were never captured and were given up: the stream in `direction`
    /// continues `missingBytes` further on (a decoder should resynchronise).
    case tcpGap(
        connection: TCPConnectionKey,
        direction: TCPDirection,
        missingBytes: Int,
        frame: Int,
        time: CaptureTimestamp
    )
    /// The sender in `direction` has sent its FIN and every octet before it was delivered.
    case tcpHalfClosed(connection: TCPConnectionKey, direction: TCPDirection, frame: Int, time: CaptureTimestamp)
    /// A control connection ended; no more events follow for it.
    case tcpClosed(connection: TCPConnectionKey, reason: TCPCloseReason, frame: Int, time: CaptureTimestamp)
    /// An IP datagram of protocol 47 (GRE), after fragment reassembly: `payload` is the IP payload, starting
    /// with the GRE header (RFC 2637 §4.1). `frames` lists the frames of its fragments in arrival order.
    case gre(source: IPAddress, destination: IPAddress, payload: [UInt8], frames: [Int], time: CaptureTimestamp)
    /// A diagnostic about `frame`.
    case diagnostic(CaptureDiagnostic, frame: Int, time: CaptureTimestamp)

    /// The frame whose arrival produced the event (for `.gre`, the last fragment's frame).
    public var frame: Int {
        switch self {
        case .tcpOpened(_, _, let frame, _), .controlData(_, _, _, let frame, _), .tcpGap(_, _, _, let frame, _),
            .tcpHalfClosed(_, _, let frame, _), .tcpClosed(_, _, let frame, _), .diagnostic(_, let frame, _):
            frame
        case .gre(_, _, _, let frames, _):
            frames.last ?? 0
        }
    }

    /// The capture time of `frame`.
    public var time: CaptureTimestamp {
        switch self {
        case .tcpOpened(_, _, _, let time), .controlData(_, _, _, _, let time), .tcpGap(_, _, _, _, let time),
            .tcpHalfClosed(_, _, _, let time), .tcpClosed(_, _, _, let time), .gre(_, _, _, _, let time),
            .diagnostic(_, _, let time):
            time
        }
    }
}

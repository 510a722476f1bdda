import MSCrypto
import PPP
import PPTP

/// What one line of the timeline records, as the analyser found it. The analyser emits these; only
/// `ReportRenderer.words(_:)` puts them in words (the `text` of a `TimelineEntry`, in the text and the JSON
/// report alike).
enum TimelineEvent: Hashable, Sendable {
    /// A control connection seen for the first time: with its SYN, or already open when the capture started.
    case tcpOpened(connection: Int, key: TCPConnectionKey, handshake: Bool)
    /// One side sent FIN.
    case tcpHalfClosed(side: PeerSide)
    /// FIN in both directions.
    case tcpClosed(connection: Int)
    /// RST.
    case tcpReset(connection: Int)
    /// A PPTP control message (RFC 2637 §2).
    case control(ControlMessage)
    /// A GRE packet without payload that only acknowledges (RFC 2637 §4.4).
    case greAcknowledgmentOnly
    /// The PPP packet a GRE packet carried.
    case ppp(PPPLine)
    /// Something wrong or noteworthy, also listed among the report's problems unless it is only news.
    case finding(Finding)
}

/// A timeline event where and when it happened, before it is worded into a `TimelineEntry`.
struct TimelineRecord: Sendable {
    var frame: Int
    var time: CaptureTimestamp
    /// Seconds since the first frame seen so far.
    var offset: Double
    var connection: Int?
    var call: Int?
    var direction: FlowDirection?
    var gre: GREFields?
    var event: TimelineEvent
    /// Order among the events of the same frame.
    var order: Int

    /// The report's line.
    var entry: TimelineEntry {
        TimelineEntry(
            frame: frame,
            time: time,
            offset: offset,
            kind: event.kind,
            connection: connection,
            call: call,
            direction: direction,
            gre: gre,
            text: ReportRenderer.words(event)
        )
    }
}

extension TimelineEvent {
    /// The kind of line the report shows it as.
    var kind: TimelineEntry.Kind {
        switch self {
        case .tcpOpened, .tcpHalfClosed, .tcpClosed, .tcpReset: .tcp
        case .control: .control
        case .greAcknowledgmentOnly, .ppp: .gre
        case .finding: .note
        }
    }
}

/// Something the analyser noticed that is not a packet of its own.
enum Finding: Hashable, Sendable {
    /// A hole in the captured TCP stream of a control connection.
    case tcpGap(missingOctets: Int, direction: TCPDirection)
    /// A control message that failed its checks (RFC 2637 §2: length, magic cookie, type).
    case controlMessageRefused(sender: PeerSide, PPTPWireError)
    /// The control stream cannot be framed any more; the decoder hunts for the next header.
    case controlFramingLost(sender: PeerSide, PPTPWireError)
    /// The control stream found a message header again.
    case controlResynchronised(sender: PeerSide, skippedOctets: Int)
    /// A Start-Control-Connection-Reply that refused (RFC 2637 §2.2).
    case controlConnectionRefused(by: PeerSide, StartControlConnectionResult)
    /// An Outgoing-Call-Reply that refused (RFC 2637 §2.8).
    case outgoingCallRefused(by: PeerSide, OutgoingCallResult)
    /// An Incoming-Call-Reply that refused (RFC 2637 §2.10).
    case incomingCallRefused(by: PeerSide, IncomingCallResult)
    /// IP protocol 47 that is not PPTP's enhanced GRE (RFC 2637 §4.1).
    case greNotPPTP(source: IPAddress, destination: IPAddress, PPTPWireError)

    /// How serious the finding is as a problem of the report; nil when it is only news for the timeline.
    var severity: ProblemSeverity? {
        switch self {
        case .controlFramingLost: .error
        case .controlResynchronised: nil
        default: .warning
        }
    }
}

/// A PPP packet in a GRE payload, as far as it was decoded.
indirect enum PPPLine: Hashable, Sendable {
    /// The PPP frame itself did not parse (RFC 1661 §2).
    case frameNotDecoded(PPPWireError, octets: Int)
    /// A control protocol's packet header did not parse (RFC 1661 §5).
    case controlNotDecoded(PPPProtocolNumber, PPPWireError)
    /// The header parsed but the packet's contents did not.
    case controlPacketNotDecoded(PPPProtocolNumber, code: UInt8, identifier: UInt8, explanation: String)
    /// LCP (RFC 1661 §5); a Protocol-Reject is worded with its sender.
    case lcp(LCPMessage, identifier: UInt8, sender: PeerSide)
    /// IPCP (RFC 1332).
    case ipcp(IPCPMessage, identifier: UInt8)
    /// IPV6CP (RFC 5072).
    case ipv6cp(IPV6CPMessage, identifier: UInt8)
    /// CCP (RFC 1962).
    case ccp(CCPMessage, identifier: UInt8)
    /// PAP (RFC 1334): the password is shown only when asked for.
    case pap(PAPMessage, identifier: UInt8, showPassword: Bool)
    /// CHAP (RFC 1994) and MS-CHAP; an MS-CHAP Failure with its parsed fields (RFC 2759 §6).
    case chap(CHAPMessage, identifier: UInt8, msCHAPFailure: MSCHAPFailure?)
    /// An MPPE packet shorter than its header (RFC 3078 §3.1).
    case mppeTruncated(octets: Int)
    /// An MPPE packet and what became of it.
    case mppe(MPPEHeader, MPPEFate)
    /// An IPv4 or IPv6 packet, clear or decrypted.
    case ip(InnerPacketSummary)
    /// Any other protocol, counted only.
    case otherProtocol(PPPProtocolNumber, octets: Int)
}

/// What became of an MPPE packet (RFC 3078 §3).
indirect enum MPPEFate: Hashable, Sendable {
    /// The D bit is clear: MPPC compression only, which is not decoded.
    case notEncrypted
    /// No key: no credentials given, or they did not match.
    case noKey(octets: Int)
    /// The decryption itself failed (a count out of reach, no key for a late packet, …).
    case failed(MPPEError)
    /// It decrypted into something that is no PPP frame: a wrong key or lost synchronisation.
    case garbage(octets: Int)
    /// Decrypted: `late` when the key came from the cache, `skippedCounts` coherency counts passed over.
    case decrypted(late: Bool, skippedCounts: Int, PPPLine)
}

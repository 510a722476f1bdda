/// The result of decoding a capture: what happened on each control connection and each call, a timeline of every
/// control message and PPP packet, the weaknesses seen, and what could not be read.
///
/// Codable so that `pptp decode --json` prints all of it; `ReportRenderer` prints it for people. Secrets (PAP
/// passwords, a password found in a word list) appear only when `DecodeOptions.showSecrets` is set.
public struct DecodeReport: Codable, Hashable, Sendable {
    /// The capture file and how much of it could be read.
    public var file: FileReport
    /// The most important facts, one line each, most important first (what a reader at 3 a.m. needs).
    public var headline: [String]
    /// Every PPTP control connection (TCP to port 1723, RFC 2637 §2).
    public var connections: [ControlConnectionReport]
    /// Every call (RFC 2637 §2.7–§2.11), with its PPP session.
    public var calls: [CallReport]
    /// Weak authentication or encryption, and what it means.
    public var weaknesses: [WeaknessReport]
    /// Damage, parse errors and anything else that kept the decoder from reading part of the capture.
    public var problems: [ProblemReport]
    /// What was done with the credentials given, if any.
    public var credentials: CredentialReport?
    /// The result of `--wordlist`, if a word list was tried.
    public var passwordSearch: PasswordSearchReport?
    /// Counters over the whole capture.
    public var statistics: StatisticsReport
    /// Every control message, GRE packet and PPP packet in frame order.
    public var timeline: [TimelineEntry]
    /// The overall outcome, which is also the exit status of `pptp decode`.
    public var outcome: DecodeOutcome

    /// Decrypted (or clear) inner IP packets in capture order, for `--write-inner`. Not part of the JSON.
    public var innerPackets: [InnerIPPacket]
    /// The authentication exchanges seen, for a word-list search. Not part of the JSON: PAP exchanges hold a
    /// password.
    public var exchanges: [AuthenticationExchange]

    enum CodingKeys: String, CodingKey {
        case file, headline, connections, calls, weaknesses, problems, credentials, passwordSearch, statistics
        case timeline, outcome
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        file = try container.decode(FileReport.self, forKey: .file)
        headline = try container.decode([String].self, forKey: .headline)
        connections = try container.decode([ControlConnectionReport].self, forKey: .connections)
        calls = try container.decode([CallReport].self, forKey: .calls)
        weaknesses = try container.decode([WeaknessReport].self, forKey: .weaknesses)
        problems = try container.decode([ProblemReport].self, forKey: .problems)
        credentials = try container.decodeIfPresent(CredentialReport.self, forKey: .credentials)
        passwordSearch = try container.decodeIfPresent(PasswordSearchReport.self, forKey: .passwordSearch)
        statistics = try container.decode(StatisticsReport.self, forKey: .statistics)
        timeline = try container.decode([TimelineEntry].self, forKey: .timeline)
        outcome = try container.decode(DecodeOutcome.self, forKey: .outcome)
        innerPackets = []
        exchanges = []
    }

    init(file: FileReport, statistics: StatisticsReport) {
        self.file = file
        self.headline = []
        self.connections = []
        self.calls = []
        self.weaknesses = []
        self.problems = []
        self.credentials = nil
        self.passwordSearch = nil
        self.statistics = statistics
        self.timeline = []
        self.outcome = .ok
        self.innerPackets = []
        self.exchanges = []
    }
}

/// The overall outcome of a decode, most serious first when several apply. The raw value is the exit status of
/// `pptp decode`.
public enum DecodeOutcome: Int, Codable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Read to the end; every encrypted packet that could be decrypted was.
    case ok = 0
    /// The file could not be opened or is not a capture at all.
    case unreadable = 1
    /// The file is damaged or truncated: the report shows what was read before the damage.
    case damaged = 2
    /// The password, secrets file or NT hash given does not match the authentication in the capture; nothing was
    /// decrypted.
    case wrongCredentials = 3
    /// The credentials matched but some encrypted packets could not be decrypted.
    case undecryptable = 4

    public var description: String {
        switch self {
        case .ok: "decoded"
        case .unreadable: "unreadable file"
        case .damaged: "damaged or truncated capture"
        case .wrongCredentials: "wrong password"
        case .undecryptable: "some packets could not be decrypted"
        }
    }
}

/// The capture file.
public struct FileReport: Codable, Hashable, Sendable {
    /// The path as given, if any.
    public var path: String?
    /// "pcap" or "pcapng" with details, or nil when not even the header could be read.
    public var format: String?
    /// Frames read.
    public var frames: Int
    /// Capture time of the first frame.
    public var firstTime: CaptureTimestamp?
    /// Capture time of the last frame.
    public var lastTime: CaptureTimestamp?
    /// Seconds from the first frame to the last.
    public var durationSeconds: Double
    /// Why reading stopped early, in words; nil when the whole file was read.
    public var damage: String?
}

/// Which way a packet went, relative to the control connection: the client is the side that opened TCP 1723
/// (the PNS of a VPN client), the server the side that listens.
public enum FlowDirection: String, Codable, Hashable, Sendable, CaseIterable {
    case clientToServer
    case serverToClient

    /// `C→S` or `S→C`.
    public var arrow: String {
        switch self {
        case .clientToServer: "C→S"
        case .serverToClient: "S→C"
        }
    }

    /// `client→server` or `server→client`.
    public var words: String {
        switch self {
        case .clientToServer: "client→server"
        case .serverToClient: "server→client"
        }
    }
}

/// One of the two ends of a control connection or call.
public enum PeerSide: String, Codable, Hashable, Sendable, CaseIterable {
    case client
    case server

    /// The other end.
    public var other: PeerSide { self == .client ? .server : .client }
    /// The direction of what this side sends.
    public var sending: FlowDirection { self == .client ? .clientToServer : .serverToClient }
}

/// One line of the timeline.
public struct TimelineEntry: Codable, Hashable, Sendable {
    /// What kind of line this is.
    public enum Kind: String, Codable, Hashable, Sendable {
        /// TCP: connection opened, FIN, RST, gap.
        case tcp
        /// A PPTP control message.
        case control
        /// A GRE packet and the PPP packet inside it.
        case gre
        /// Something noteworthy found by the decoder (loss, a wrong password, a parse error).
        case note
    }

    /// The frame (numbered from 1) that completed this item.
    public var frame: Int
    /// Its capture time.
    public var time: CaptureTimestamp
    /// Seconds since the first frame of the capture.
    public var offset: Double
    /// The kind of line.
    public var kind: Kind
    /// The control connection, numbered from 1.
    public var connection: Int?
    /// The call, numbered from 1.
    public var call: Int?
    /// Which way it went.
    public var direction: FlowDirection?
    /// The GRE header fields, for GRE lines.
    public var gre: GREFields?
    /// The line in words: a control message with its fields, or a PPP packet as pppd's debug log prints it.
    public var text: String

    enum CodingKeys: String, CodingKey {
        case frame, time, offset, kind, connection, call, direction, gre, text
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        frame = try container.decode(Int.self, forKey: .frame)
        time = try container.decode(CaptureTimestamp.self, forKey: .time)
        offset = try container.decode(Double.self, forKey: .offset)
        kind = try container.decode(Kind.self, forKey: .kind)
        connection = try container.decodeIfPresent(Int.self, forKey: .connection)
        call = try container.decodeIfPresent(Int.self, forKey: .call)
        direction = try container.decodeIfPresent(FlowDirection.self, forKey: .direction)
        gre = try container.decodeIfPresent(GREFields.self, forKey: .gre)
        text = try container.decode(String.self, forKey: .text)
    }

    init(
        frame: Int,
        time: CaptureTimestamp,
        offset: Double,
        kind: Kind,
        connection: Int?,
        call: Int?,
        direction: FlowDirection?,
        gre: GREFields?,
        text: String
    ) {
        self.frame = frame
        self.time = time
        self.offset = offset
        self.kind = kind
        self.connection = connection
        self.call = call
        self.direction = direction
        self.gre = gre
        self.text = text
    }
}

/// The enhanced GRE header of one packet (RFC 2637 §4.1).
public struct GREFields: Codable, Hashable, Sendable {
    /// The receiver's Call ID.
    public var callID: UInt16
    /// The sequence number, absent on acknowledgment-only packets.
    public var sequence: UInt32?
    /// The acknowledgment number, if the A bit is set.
    public var acknowledgment: UInt32?
    /// Octets of PPP payload.
    public var payloadLength: Int
}

/// One end of a control connection, as it described itself in its SCCRQ or SCCRP (RFC 2637 §2.1, §2.2).
public struct PeerReport: Codable, Hashable, Sendable {
    /// IP address.
    public var address: String
    /// TCP port.
    public var port: UInt16
    /// Host Name field.
    public var hostName: String?
    /// Vendor String field.
    public var vendor: String?
    /// Firmware Revision field.
    public var firmwareRevision: UInt16?
    /// Protocol Version, "1.0".
    public var protocolVersion: String?
    /// Framing Capabilities: "async", "sync", "async+sync".
    public var framing: String?
    /// Bearer Capabilities: "analog", "digital", "analog+digital".
    public var bearer: String?
    /// Maximum Channels.
    public var maximumChannels: UInt16?
}

/// A PPTP control connection (RFC 2637 §2, §3.1).
public struct ControlConnectionReport: Codable, Hashable, Sendable {
    /// Numbered from 1 in order of appearance.
    public var index: Int
    /// The side that opened the TCP connection.
    public var client: PeerReport
    /// The side on port 1723.
    public var server: PeerReport
    /// Whether the TCP handshake was captured, or the capture started in the middle.
    public var sawHandshake: Bool
    /// Seconds since the start of the capture when it was first seen.
    public var startOffset: Double
    /// Seconds since the start of the capture when it closed (or the capture ended).
    public var endOffset: Double
    /// Control messages decoded, client to server.
    public var messagesToServer: Int
    /// Control messages decoded, server to client.
    public var messagesToClient: Int
    /// The SCCRP result in words.
    public var setup: String?
    /// PPTP Echo-Request / Echo-Reply keep-alives (RFC 2637 §2.5, §2.6).
    public var echo: EchoReport
    /// Stop-Control-Connection-Request/Reply (RFC 2637 §2.3, §2.4) in words, if sent.
    public var stop: String?
    /// How the TCP connection ended, in words.
    public var closed: String
    /// The calls carried, by index.
    public var calls: [Int]
    /// Messages that could not be decoded, and framing lost.
    public var problems: [String]
}

/// A call and the PPP session inside it.
public struct CallReport: Codable, Hashable, Sendable {
    /// Numbered from 1 in order of appearance.
    public var index: Int
    /// The control connection that set it up, if it was seen.
    public var connection: Int?
    /// "outgoing" (OCRQ/OCRP, a VPN client), "incoming" (ICRQ/ICRP/ICCN) or "unknown" (GRE seen without set-up).
    public var kind: String
    /// The client's end.
    public var client: PeerReport
    /// The server's end.
    public var server: PeerReport
    /// The Call ID the client assigned: the server sends GRE with it.
    public var clientCallID: UInt16?
    /// The Call ID the server assigned: the client sends GRE with it.
    public var serverCallID: UInt16?
    /// The call set-up result and parameters in words.
    public var setup: String?
    /// Seconds since the start of the capture at set-up (or at its first packet).
    public var startOffset: Double
    /// Seconds since the start of the capture at its last packet or message.
    public var endOffset: Double
    /// `endOffset - startOffset`.
    public var durationSeconds: Double
    /// LCP (RFC 1661).
    public var lcp: NegotiationReport
    /// IPCP (RFC 1332, RFC 1877).
    public var ipcp: NegotiationReport
    /// IPV6CP (RFC 5072).
    public var ipv6cp: NegotiationReport
    /// CCP (RFC 1962, RFC 3078).
    public var ccp: NegotiationReport
    /// The framing in words: ACFC, PFC, MRU, ACCM.
    public var framing: String?
    /// The tunnel addresses, from IPCP.
    public var clientTunnelAddress: String?
    /// The tunnel addresses, from IPCP.
    public var serverTunnelAddress: String?
    /// Authentication.
    public var authentication: AuthenticationReport
    /// Encryption.
    public var mppe: MPPEReport
    /// Packets and octets client to server.
    public var clientToServer: TrafficReport
    /// Packets and octets server to client.
    public var serverToClient: TrafficReport
    /// LCP Echo keep-alives (RFC 1661 §5.8).
    public var echo: EchoReport
    /// How the call ended.
    public var ending: EndingReport
}

/// The options negotiated by one control protocol: each side's last Configure-Request that the other side
/// acknowledged (RFC 1661 §5.1, §5.2), printed as pppd prints them.
public struct NegotiationReport: Codable, Hashable, Sendable {
    /// "LCP", "IPCP", "IPV6CP", "CCP".
    public var protocolName: String
    /// The client's acknowledged request, e.g. `["<asyncmap 0x0>", "<magic 0x7d27d7a>", "<pcomp>", "<accomp>"]`.
    public var clientOptions: [String]?
    /// The server's acknowledged request.
    public var serverOptions: [String]?
    /// Both requests were acknowledged.
    public var opened: Bool
    /// Configure-Requests sent by each side in total.
    public var requests: Int
    /// Rejections, suggestions and Protocol-Rejects, in words.
    public var notes: [String]
}

/// How authentication went (RFC 1334, RFC 1994, RFC 2433, RFC 2759).
public struct AuthenticationReport: Codable, Hashable, Sendable {
    /// "PAP", "CHAP-MD5", "MS-CHAPv1", "MS-CHAPv2", or nil when none was negotiated.
    public var method: String?
    /// The side that asked for authentication (the authenticator).
    public var authenticator: PeerSide?
    /// The user name sent by the peer.
    public var user: String?
    /// The authenticator's name (CHAP Challenge Name).
    public var authenticatorName: String?
    /// "succeeded", "failed", "not finished" or "none".
    public var outcome: String
    /// The failure in words, e.g. "E=691 authentication failure (bad user name or password)".
    public var failure: String?
    /// The MS-CHAP error code of the failure.
    public var failureCode: Int?
    /// The message of the Success, Failure, Ack or Nak.
    public var message: String?
    /// Responses sent (more than one after a retry).
    public var attempts: Int
    /// What checking the credentials given found: "not checked", "password matches", "WRONG PASSWORD", "no
    /// secret for this user", "cannot check".
    public var credentialCheck: String
    /// The same in more words.
    public var credentialDetail: String?
    /// MS-CHAPv2: whether the Success message's S= value (RFC 2759 §5) matches the password given.
    public var authenticatorResponseVerified: Bool?
    /// PAP: the password, only with `showSecrets`.
    public var password: String?
}

/// MPPE (RFC 3078, RFC 3079) on a call.
public struct MPPEReport: Codable, Hashable, Sendable {
    /// CCP negotiated MPPE.
    public var negotiated: Bool
    /// "40-bit", "56-bit", "128-bit".
    public var strength: String?
    /// Stateless ("history-less", the H bit) or stateful.
    public var mode: String?
    /// "not encrypted", "not attempted (no password given)", "decrypted", "WRONG PASSWORD", "no keys", "partly
    /// decrypted".
    public var decryption: String
    /// The same in more words.
    public var detail: String?
    /// Client to server.
    public var clientToServer: MPPEDirectionReport
    /// Server to client.
    public var serverToClient: MPPEDirectionReport
}

/// MPPE counters of one direction.
public struct MPPEDirectionReport: Codable, Hashable, Sendable {
    /// Packets of protocol 0x00FD.
    public var encrypted = 0
    /// Decrypted into a valid packet.
    public var decrypted = 0
    /// Of those, decrypted with a key kept for packets overtaken by newer ones.
    public var late = 0
    /// Not decrypted, with the reasons in `failures`.
    public var failed = 0
    /// Decrypted, but the result is not a valid PPP packet (wrong key or lost synchronisation).
    public var invalid = 0
    /// Reasons for failures, counted.
    public var failures: [String: Int] = [:]
    /// First and last coherency count seen.
    public var firstCoherencyCount: UInt16?
    public var lastCoherencyCount: UInt16?
    /// Coherency counts skipped (stateless: packets lost or still in flight before the capture point).
    public var skippedCounts = 0
    /// CCP Reset-Requests seen for this direction (stateful resynchronisation, RFC 3078 §8.2).
    public var resetRequests = 0
}

/// Packets and octets of one direction of a call.
public struct TrafficReport: Codable, Hashable, Sendable {
    /// GRE packets (data and acknowledgment-only).
    public var grePackets = 0
    /// Of those, acknowledgment-only (no payload).
    public var greAcknowledgmentOnly = 0
    /// Octets of GRE payload (PPP frames).
    public var greOctets = 0
    /// PPP control packets (LCP, authentication, NCPs, CCP).
    public var pppControlPackets = 0
    /// PPP data frames (IP, MPPE).
    public var pppDataFrames = 0
    /// Inner IP packets (decrypted or clear).
    public var ipPackets = 0
    /// Octets of inner IP packets.
    public var ipOctets = 0
    /// GRE sequence numbering (RFC 2637 §4.3).
    public var sequence = GRESequenceReport()
}

/// GRE sequence numbers of one direction as they arrived at the capture point.
public struct GRESequenceReport: Codable, Hashable, Sendable {
    /// First sequence number.
    public var first: UInt32?
    /// Highest sequence number.
    public var highest: UInt32?
    /// Sequence numbers never seen between the first and the highest (lost before the capture point).
    public var missing = 0
    /// Packets that arrived after a higher sequence number (reordered on the wire).
    public var reordered = 0
    /// Packets whose sequence number had been seen already.
    public var duplicates = 0
    /// The highest acknowledgment number this direction carried (what the sender had received from its peer).
    public var highestAcknowledgment: UInt32?
}

/// Keep-alives: LCP Echo on a call, PPTP Echo on a control connection.
public struct EchoReport: Codable, Hashable, Sendable {
    /// Requests sent by the client.
    public var clientRequests = 0
    /// Of those, answered by the server.
    public var clientRequestsAnswered = 0
    /// Requests sent by the server.
    public var serverRequests = 0
    /// Of those, answered by the client.
    public var serverRequestsAnswered = 0
    /// Requests at the very end that were never answered, and who sent them.
    public var unansweredAtEnd = 0
    /// The side whose requests went unanswered at the end.
    public var unansweredSender: PeerSide?
    /// Seconds between consecutive requests of the side that sent most of them.
    public var intervalSeconds: Double?
    /// In words.
    public var summary: String
}

/// How a call ended.
public struct EndingReport: Codable, Hashable, Sendable {
    /// Why it ended, in order of what matters.
    public enum Cause: String, Codable, Hashable, Sendable {
        case authenticationFailed
        case echoTimeout
        case lcpTerminate
        case callClearRequest
        case callDisconnectNotify
        case stopControlConnection
        case tcpClosed
        case tcpReset
        case stillUp
        case unknown
    }

    /// One step of the ending.
    public struct Step: Codable, Hashable, Sendable {
        /// Frame of the step.
        public var frame: Int
        /// Seconds since the start of the capture.
        public var offset: Double
        /// Who did it, when known.
        public var side: PeerSide?
        /// What was done, in words.
        public var text: String
    }

    /// The cause.
    public var cause: Cause
    /// Who ended it, when known.
    public var initiator: PeerSide?
    /// One sentence.
    public var summary: String
    /// A few words for the headline, e.g. `ended by the client (LCP Terminate-Request "MPPE disabled")`.
    public var brief: String
    /// Every step of the ending in order.
    public var steps: [Step]
}

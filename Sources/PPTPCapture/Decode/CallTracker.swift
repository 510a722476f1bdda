import MSCrypto
import NIOCore
import PPP
import PPTP

/// One call of a capture and the PPP session inside it: GRE sequencing, the PPP control protocols, the
/// authentication, MPPE decryption and the inner traffic.
///
/// Part of `CaptureAnalyzer`; it produces typed timeline events (`TimelineEvent`) and keeps everything the call report
/// needs.
struct CallTracker: Sendable {
    /// An event that belongs to the ending of the call.
    struct EndEvent: Sendable {
        enum What: Sendable {
            case lcpTerminateRequest(reason: String)
            case lcpTerminateAck
            case authenticationFailure
            case callClearRequest
            case callDisconnectNotify(result: CallDisconnectResult, text: String)
            case stopControlConnection(text: String)
            case tcpFin
            case tcpReset
        }
        var what: What
        var side: PeerSide?
        var frame: Int
        var time: CaptureTimestamp
        var text: String
    }

    /// How the credentials given fared against this call's authentication.
    enum CredentialCheck: Sendable {
        case notChecked
        case matched
        case mismatched
        case noSecretForUser
        case cannotCheck
    }

    let index: Int
    var connection: Int?
    var kind: String
    var clientAddress: IPAddress
    var serverAddress: IPAddress
    /// The Call ID each side assigned; GRE sent to a side carries its Call ID (RFC 2637 §4.1).
    var callIDs: [PeerSide: UInt16] = [:]
    var setup: String?
    var setupFailed = false
    var firstTime: CaptureTimestamp
    var lastTime: CaptureTimestamp

    var lcp = NegotiationTracker(protocolName: "LCP")
    var ipcp = NegotiationTracker(protocolName: "IPCP")
    var ipv6cp = NegotiationTracker(protocolName: "IPV6CP")
    var ccp = NegotiationTracker(protocolName: "CCP")

    // Authentication.
    var authMethod: AuthenticationMethod?
    var authenticator: PeerSide?
    var authenticatorName: String?
    var user: String?
    var challenge: (identifier: UInt8, value: [UInt8])?
    var lastResponse: (identifier: UInt8, value: [UInt8], exchange: AuthenticationExchange?)?
    var authOutcome = "none"
    var authFailure: String?
    var authFailureCode: Int?
    var authMessage: String?
    var authAttempts = 0
    var credentialCheck = CredentialCheck.notChecked
    var credentialDetail: String?
    var authenticatorResponseVerified: Bool?
    var papPassword: [UInt8]?
    var verifiedHash: NTPasswordHash?
    /// MPPE key material from the authenticator's point of view (RFC 3079).
    var keyMaterial: MPPEKeyMaterial?
    var exchanges: [AuthenticationExchange] = []

    // MPPE.
    var streams: [FlowDirection: MPPEStream] = [:]
    var mppe: [FlowDirection: MPPEDirectionReport] = [.clientToServer: .init(), .serverToClient: .init()]
    var mppeSetupProblem: String?

    // Traffic.
    var traffic: [FlowDirection: TrafficReport] = [.clientToServer: .init(), .serverToClient: .init()]
    var sequences: [FlowDirection: GRESequenceTracker] = [.clientToServer: .init(), .serverToClient: .init()]
    var reorder: [FlowDirection: ReorderBuffer]
    var lastHeard: [PeerSide: CaptureTimestamp] = [:]
    var echo = EchoTracker()
    var endEvents: [EndEvent] = []
    var pppErrors = 0
    /// Frame and time of the GRE packet being processed.
    var currentFrame = 0
    var currentTime = CaptureTimestamp.zero

    init(
        index: Int,
        connection: Int?,
        kind: String,
        client: IPAddress,
        server: IPAddress,
        time: CaptureTimestamp,
        options: DecodeOptions
    ) {
        self.index = index
        self.connection = connection
        self.kind = kind
        self.clientAddress = client
        self.serverAddress = server
        self.firstTime = time
        self.lastTime = time
        let buffer = ReorderBuffer(window: options.reorderWindow, timeout: options.reorderTimeout)
        self.reorder = [.clientToServer: buffer, .serverToClient: buffer]
    }

    /// Output of processing one GRE packet.
    struct Output: Sendable {
        var lines:
            [(frame: Int, time: CaptureTimestamp, direction: FlowDirection, gre: GREFields, event: TimelineEvent)] =
                []
        var inner: [InnerIPPacket] = []
        var problems: [ProblemReport] = []
    }

    // MARK: GRE

    /// A GRE packet for this call, in arrival order.
    mutating func receive(
        _ packet: GREPacket,
        direction: FlowDirection,
        frame: Int,
        time: CaptureTimestamp,
        context: AnalysisContext
    ) -> Output {
        lastTime = max(lastTime, time)
        lastHeard[direction == .clientToServer ? .client : .server] = time
        let header = packet.header
        sequences[direction, default: .init()].observe(
            sequence: header.sequenceNumber,
            acknowledgment: header.acknowledgmentNumber
        )
        traffic[direction, default: .init()].grePackets += 1
        traffic[direction, default: .init()].greOctets += packet.payload.readableBytes
        var output = Output()
        if header.isAcknowledgmentOnly {
            traffic[direction, default: .init()].greAcknowledgmentOnly += 1
            output.lines.append((frame, time, direction, Self.fields(header), .greAcknowledgmentOnly))
            return output
        }
        let held = HeldGREPacket(header: header, payload: packet.payload, frame: frame, time: time)
        for ready in reorder[direction]?.push(held) ?? [held] {
            process(ready, direction: direction, context: context, into: &output)
        }
        return output
    }

    /// End of capture: packets still held for reordering are processed.
    mutating func flush(context: AnalysisContext) -> Output {
        var output = Output()
        for direction in FlowDirection.allCases {
            for ready in reorder[direction]?.flush() ?? [] {
                process(ready, direction: direction, context: context, into: &output)
            }
        }
        return output
    }

    static func fields(_ header: GREHeader) -> GREFields {
        GREFields(
            callID: header.callID,
            sequence: header.sequenceNumber,
            acknowledgment: header.acknowledgmentNumber,
            payloadLength: Int(header.payloadLength)
        )
    }

    private mutating func process(
        _ packet: HeldGREPacket,
        direction: FlowDirection,
        context: AnalysisContext,
        into output: inout Output
    ) {
        let sender: PeerSide = direction == .clientToServer ? .client : .server
        currentFrame = packet.frame
        currentTime = packet.time
        let line = ppp(
            packet.payload,
            sender: sender,
            direction: direction,
            packet: packet,
            context: context,
            output: &output
        )
        output.lines.append((packet.frame, packet.time, direction, Self.fields(packet.header), .ppp(line)))
    }

    // MARK: PPP

    private mutating func ppp(
        _ payload: ByteBuffer,
        sender: PeerSide,
        direction: FlowDirection,
        packet: HeldGREPacket,
        context: AnalysisContext,
        output: inout Output
    ) -> PPPLine {
        let frame: PPPFrame
        do throws(PPPWireError) {
            frame = try PPPFrame(parsing: payload)
        } catch {
            pppErrors += 1
            output.problems.append(
                ProblemReport(
                    severity: .warning,
                    frame: packet.frame,
                    text: "call \(index): PPP frame not decoded: \(error.explanation)"
                )
            )
            return .frameNotDecoded(error, octets: payload.readableBytes)
        }
        let information = Array(frame.information.readableBytesView)
        let number = frame.protocolNumber
        switch number {
        case .lcp, .ipcp, .ipv6cp, .ccp, .pap, .chap:
            traffic[direction, default: .init()].pppControlPackets += 1
            let packet: ControlPacket
            do throws(PPPWireError) {
                packet = try ControlPacket(parsing: frame.information)
            } catch {
                pppErrors += 1
                return .controlNotDecoded(number, error)
            }
            return controlPacket(number, packet, sender: sender, context: context)
        case .compressedDatagram:
            traffic[direction, default: .init()].pppDataFrames += 1
            return mppePacket(
                information,
                sender: sender,
                direction: direction,
                held: packet,
                context: context,
                output: &output
            )
        case .ipv4, .ipv6:
            traffic[direction, default: .init()].pppDataFrames += 1
            return innerPacket(
                number,
                information,
                direction: direction,
                held: packet,
                context: context,
                output: &output
            )
        default:
            traffic[direction, default: .init()].pppDataFrames += 1
            return .otherProtocol(number, octets: information.count)
        }
    }

}

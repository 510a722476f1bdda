import MSCrypto
import NIOCore
import PPP
import PPTP
import PPTPCapture

/// The bodies of the libFuzzer targets of `Fuzz/`, kept in the library so that the regression tests replay
/// crashers through exactly the same code.
///
/// Each entry point feeds arbitrary octets to one decoder and checks what must always hold: no trap, bounded
/// buffering, and for what parses, that serialising it again and parsing that gives the same value. A violation
/// is a bug of ours, reported with `precondition` so that the fuzzer records the input.
public enum FuzzEntryPoints {
    /// The PPTP control stream decoder (RFC 2637 §2): the input is cut into reads whose sizes come from the
    /// input itself, so partial reads, several messages per read and one-octet reads are all exercised.
    public static func controlStream(_ data: [UInt8]) {
        var decoder = ControlStreamDecoder()
        var index = 0
        var chunk = 1
        while index < data.count {
            let end = min(data.count, index + chunk)
            decoder.append(data[index..<end])
            index = end
            chunk = Int(data[end - 1] % 64) + 1
            while true {
                guard let output = try? decoder.next() else { break }
                if case .message(let message) = output {
                    let again = try? ControlMessage(parsing: message.serialized())
                    precondition(again == message, "control message does not round-trip")
                }
            }
            // One maximum-size message plus one read, at most.
            precondition(
                decoder.bufferedBytes <= Int(ControlMessage.maximumLength) + 64,
                "control stream buffers without bound"
            )
        }
        _ = try? ControlMessage(parsing: ByteBuffer(bytes: data))
    }

    /// A whole server-side session: a control connection (PAC) and, once the input has placed a
    /// call, a `TunnelSession` with its PPP session. The input is a script of records — a selector
    /// octet, a length octet and that many octets — that feed the control stream, GRE packets,
    /// PPP packets of any protocol (wrapped in GRE with the right Call ID), a verdict, or a jump of
    /// the clock. Checked: no trap, a bounded number of actions per input, and that a session
    /// left alone ends or opens within a bounded number of timeouts.
    public static func session(_ data: [UInt8]) {
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var control = ControlConnection(configuration: ControlConnectionConfiguration(role: .pac))
        _ = control.accepted(now: now)
        var tunnel: TunnelSession?
        var random = SplitMix64(seed: UInt64(data.count) &* 0x9E37_79B9)
        let ppp = PPPSessionConfiguration(
            role: .server,
            policy: PPPPolicy(
                authentication: [.msCHAPv2, .pap],
                encryption: EncryptionPolicy(required: false, strengths: [.bits128])
            ),
            ipcp: .assigning(local: IPv4Address(203, 0, 113, 1), peer: IPv4Address(203, 0, 113, 2), dns: [], nbns: [])
        )
        var sequence: UInt32 = 0
        var index = 0
        func take(_ count: Int) -> [UInt8] {
            let end = min(data.count, index + count)
            defer { index = end }
            return Array(data[index..<end])
        }
        while index + 2 <= data.count {
            let selector = data[index] % 6
            let length = Int(data[index + 1])
            index += 2
            let body = take(length)
            switch selector {
            case 0:
                let actions = control.receive(bytes: body, now: now)
                precondition(actions.count <= 8 + body.count / 12 * 4, "control connection acts without bound")
                for action in actions {
                    if case .callOffered(let offer) = action {
                        _ = control.answerCall(peerCallID: offer.peerCallID, with: 0x4242, now: now)
                    }
                }
                if tunnel == nil, let call = control.calls[0x4242], call.state == .established,
                    let peer = call.peerCallID
                {
                    var session = TunnelSession(
                        call: CallInformation(
                            callID: 0x4242,
                            peerCallID: peer,
                            direction: .outgoing,
                            peerWindow: call.peerWindow
                        ),
                        gre: GRESequencerConfiguration(),
                        ppp: ppp,
                        random: random
                    )
                    _ = session.start(now: now)
                    tunnel = session
                }
            case 1:
                var bytes = body
                if var session = tunnel {
                    let result = bytes.withUnsafeMutableBytes { session.receiveGRE($0, now: now) }
                    precondition(result.actions.count <= 16, "tunnel acts without bound on one GRE packet")
                    tunnel = session
                }
            case 2:
                // A PPP packet of the protocol the next two octets name, in a valid GRE packet.
                guard var session = tunnel, body.count >= 2 else { continue }
                let protocolNumber = PPPProtocolNumber(UInt16(body[0]) << 8 | UInt16(body[1]))
                let payload = PPPFrame(
                    protocolNumber: protocolNumber,
                    information: ByteBuffer(bytes: body.dropFirst(2))
                ).serialized()
                var packet = ByteBuffer()
                GREPacket(
                    header: GREHeader(
                        payloadLength: UInt16(payload.readableBytes),
                        callID: 0x4242,
                        sequenceNumber: sequence
                    ),
                    payload: payload
                ).write(to: &packet)
                sequence &+= 1
                var bytes = Array(packet.readableBytesView)
                let result = bytes.withUnsafeMutableBytes { session.receiveGRE($0, now: now) }
                precondition(result.actions.count <= 16, "PPP acts without bound on one packet")
                tunnel = session
            case 3:
                guard var session = tunnel else { continue }
                let verdict: AuthenticationVerdict =
                    body.first.map { $0 & 1 == 0 } ?? false
                    ? .accept(authenticatorResponse: body.count >= 21 ? Array(body[1..<21]) : nil)
                    : .reject(.authenticationFailure)
                _ = session.receive(verdict: verdict, now: now)
                tunnel = session
            case 4:
                now = now + .milliseconds(Int64(body.first ?? 0) * 100)
                _ = control.timeout(now: now)
                if var session = tunnel {
                    _ = session.timeout(now: now)
                    tunnel = session
                }
            default:
                _ = random.next()
            }
        }
        // Left alone, the session ends or opens within a bounded number of timeouts.
        guard var session = tunnel else { return }
        var rounds = 0
        while !session.isDown && !session.ppp.isNetworkUp, let deadline = session.nextDeadline, rounds < 500 {
            now = max(now, deadline)
            _ = session.timeout(now: now)
            rounds += 1
        }
        precondition(rounds < 500, "a session neither ends nor opens")
    }

    /// The enhanced GRE header and packet parser (RFC 2637 §4.1).
    public static func gre(_ data: [UInt8]) {
        guard let packet = try? GREPacket(parsing: ByteBuffer(bytes: data)) else { return }
        precondition(packet.payload.readableBytes == Int(packet.header.payloadLength), "GRE payload length")
        var out = ByteBuffer()
        packet.write(to: &out)
        let again = try? GREPacket(parsing: out)
        precondition(again == packet, "GRE packet does not round-trip")
    }

    /// PPP frames, control packets and every typed message and option parser (RFC 1661, 1332, 1334, 1994, 2433,
    /// 2759, 3078, 5072).
    public static func ppp(_ data: [UInt8]) {
        guard let frame = try? PPPFrame(parsing: ByteBuffer(bytes: data)) else { return }
        precondition(
            (try? PPPFrame(parsing: frame.serialized()))?.header.protocolNumber == frame.header.protocolNumber,
            "PPP header does not round-trip"
        )
        guard let packet = try? ControlPacket(parsing: frame.information) else { return }
        precondition((try? ControlPacket(parsing: packet.bytes)) == packet, "control packet does not round-trip")
        if let message = try? LCPMessage(packet) { roundTrip(message, packet) }
        if let message = try? IPCPMessage(packet) { roundTrip(message, packet) }
        if let message = try? IPV6CPMessage(packet) { roundTrip(message, packet) }
        if let message = try? CCPMessage(packet) { roundTrip(message, packet) }
        if let message = try? PAPMessage(packet) { _ = message.description(showPassword: false) }
        if let message = try? CHAPMessage(packet) {
            _ = message.description
            switch message {
            case .response(let value, _):
                _ = try? MSCHAPv1Response(value)
                _ = try? MSCHAPv2Response(value)
            case .success(let text):
                _ = try? MSCHAPv2Success(text)
            case .failure(let text):
                _ = (try? MSCHAPFailure(text))?.description
            default:
                break
            }
        }
    }

    private static func roundTrip<Option: TypedConfigurationOption>(
        _ message: ControlProtocolMessage<Option>,
        _ packet: ControlPacket
    ) {
        _ = message.logDescription(identifier: packet.identifier)
        let again = try? ControlProtocolMessage<Option>(message.packet(identifier: packet.identifier))
        precondition(again == message, "\(Option.controlProtocol) message does not round-trip")
    }

    /// The async-HDLC decoder (RFC 1662), fed in reads whose sizes come from the input.
    public static func hdlc(_ data: [UInt8]) {
        var decoder = HDLCDecoder(accm: data.first.map { $0 & 1 == 0 ? 0 : 0xFFFF_FFFF } ?? 0)
        var index = 0
        while index < data.count {
            let end = min(data.count, index + Int(data[index] % 32) + 1)
            _ = decoder.decode(data[index..<end])
            index = end
            precondition(decoder.bufferedBytes <= decoder.maximumFrameLength + 2, "HDLC decoder buffers without bound")
        }
        // Encoding then decoding gives the frame back.
        let encoded = HDLCEncoder(accm: 0xFFFF_FFFF).encode(data.prefix(64))
        var fresh = HDLCDecoder()
        _ = fresh.decode(encoded)
    }

    /// The whole decoder: the input as a capture file.
    public static func capture(_ data: [UInt8]) {
        let report = CaptureDecoder.decode(ByteBuffer(bytes: data), options: DecodeOptions(credentials: .password("x")))
        _ = ReportRenderer.render(report)
    }

    /// The chap-secrets loader (pppd's format, ours with `nt:` hashes): strict and lenient agree on
    /// what a file holds when it is valid, and nothing traps on any text.
    public static func secrets(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        let lenient = ChapSecrets.lenient(text)
        if let strict = try? ChapSecrets(parsing: text) {
            precondition(strict.entries == lenient.entries, "strict and lenient chap-secrets parsing disagree")
        }
        for entry in lenient.entries.prefix(8) {
            _ = lenient.entry(forUser: entry.client, server: entry.server)
        }
    }

    /// Every entry point by name, for the regression replay.
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "control": controlStream,
        "gre": gre,
        "ppp": ppp,
        "hdlc": hdlc,
        "capture": capture,
        "session": session,
        "tunnel": tunnel,
        "secrets": secrets,
    ]
}

import MSCrypto
import NIOCore
import PPP
import PPTP
import Testing

@testable import PPTPCapture

/// The analyser emits typed timeline events and only the renderer words them: findings reach the problem list
/// and the timeline in the same words, and each event shows as the kind of line it is.
@Suite struct TimelineEventTests {
    static let key = TCPConnectionKey(
        client: .v4(192, 0, 2, 2),
        clientPort: 40000,
        server: .v4(192, 0, 2, 1),
        serverPort: 1723
    )
    static let time = CaptureTimestamp.zero

    /// A control stream that loses its framing, then finds a Start-Control-Connection-Request again.
    @Test func findingsAreProblemsAndTimelineNotesInTheSameWords() {
        var analyzer = CaptureAnalyzer()
        analyzer.receive(.tcpOpened(connection: Self.key, opening: .handshake, frame: 1, time: Self.time))
        // A header with a wrong magic cookie loses the framing (RFC 2637 §2: the cookie is 0x1A2B3C4D).
        var garbage: [UInt8] = [0x00, 0x9C, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF]
        garbage += [UInt8](repeating: 0, count: 148)
        analyzer.receive(
            .controlData(connection: Self.key, direction: .toServer, bytes: garbage, frame: 2, time: Self.time)
        )
        let message = ControlMessage.startControlConnectionRequest(StartControlConnectionRequest())
        let request = Array(message.serialized().readableBytesView)
        analyzer.receive(
            .controlData(connection: Self.key, direction: .toServer, bytes: request, frame: 3, time: Self.time)
        )
        let report = analyzer.finish(format: nil, statistics: CaptureStatistics(), fileError: nil)

        let notes = report.timeline.filter { $0.kind == .note }
        #expect(notes.count == 2)
        let lost = try? #require(notes.first)
        #expect(lost?.text.hasPrefix("control stream from the client lost its framing: ") == true)
        #expect(lost?.direction == .clientToServer)
        #expect(notes.last?.text == "control stream from the client back in step after skipping 156 octets")
        // The lost framing is an error of the report in the same words; getting back in step is only news.
        #expect(report.problems.map(\.text) == [lost?.text])
        #expect(report.problems.first?.severity == .error)
        #expect(report.connections.first?.problems == notes.map(\.text))
        // The message found again is a control line, worded by the renderer.
        let control = report.timeline.filter { $0.kind == .control }
        #expect(control.map(\.text) == ["PPTP " + ControlMessageText.describe(message)])
        #expect(report.timeline.first?.kind == .tcp)
        #expect(report.timeline.first?.text == "TCP control connection 1 \(Self.key) opened (SYN)")
    }

    /// The decoder dropped what it held when the framing failed; the hunt still finds a message that follows the
    /// damage in the same segment, and counts the octets it skipped.
    @Test func messageAfterDamageInTheSameSegmentIsFound() {
        var stream = ControlStream()
        let message = ControlMessage.echoRequest(EchoRequest(identifier: 7))
        let bytes =
            [0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x55] + Array(message.serialized().readableBytesView)
        let outputs = stream.append(bytes)
        #expect(outputs.count == 3)
        guard outputs.count == 3 else { return }
        if case .framingLost = outputs[0] {} else { Issue.record("expected the framing to be lost: \(outputs[0])") }
        if case .resynchronised(let skipped) = outputs[1] {
            #expect(skipped == 9)
        } else {
            Issue.record("\(outputs[1])")
        }
        if case .message(let found) = outputs[2] { #expect(found == message) } else { Issue.record("\(outputs[2])") }
    }

    @Test func everyEventShowsAsItsKindOfLine() {
        let header = MPPEHeader(flushed: true, coherencyCount: 7)
        let cases: [(TimelineEvent, TimelineEntry.Kind, String)] = [
            (.tcpHalfClosed(side: .server), .tcp, "TCP FIN: the server closed its side of the control connection"),
            (.tcpReset(connection: 2), .tcp, "TCP RST: control connection 2 reset"),
            (.greAcknowledgmentOnly, .gre, "GRE acknowledgment only"),
            (.ppp(.otherProtocol(PPPProtocolNumber(rawValue: 0x0031), octets: 12)), .gre, "PPP protocol"),
            (.ppp(.mppeTruncated(octets: 1)), .gre, "MPPE (truncated: 1 octets)"),
            (.ppp(.mppe(header, .garbage(octets: 40))), .gre, "MPPE ccount=7 flushed DECRYPTED INTO GARBAGE (40"),
            (
                .ppp(.mppe(header, .decrypted(late: true, skippedCounts: 2, .mppeTruncated(octets: 0)))), .gre,
                "MPPE ccount=7 flushed (late, key from cache) (2 counts skipped) → MPPE (truncated"
            ),
            (
                .finding(.outgoingCallRefused(by: .server, .busy)), .note,
                "the server REFUSED the call: \(OutgoingCallResult.busy)"
            ),
        ]
        for (event, kind, prefix) in cases {
            #expect(event.kind == kind, "\(event)")
            #expect(ReportRenderer.words(event).hasPrefix(prefix), "\(ReportRenderer.words(event))")
        }
    }

    /// PAP passwords stay hidden in the words unless asked for (`--show-secrets`).
    @Test func papPasswordIsWordedOnlyWhenAskedFor() {
        let request = PAPMessage.authenticateRequest(peerID: Array("alice".utf8), password: Array("pw-1".utf8))
        let hidden = ReportRenderer.words(.pap(request, identifier: 1, showPassword: false))
        let shown = ReportRenderer.words(.pap(request, identifier: 1, showPassword: true))
        #expect(hidden.contains("<hidden, 4 octets>") && !hidden.contains("pw-1"))
        #expect(shown.contains("pw-1"))
    }
}

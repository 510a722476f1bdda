import Logging
import NIOCore
import NIOEmbedded
import PPP
import PPTP
import PPTPNetwork
import Synchronization
import Testing

@testable import PPTPClient

/// The client's control-connection shell on an embedded channel, with a data plane that only
/// records commands: the order in which the TCP side and the data plane report an ending.
@Suite struct ClientControlHandlerTests {
    final class RecordingDataPlane: ClientDataPlane {
        let commands = Mutex<[DataPlaneCommand]>([])
        func submit(_ command: DataPlaneCommand) { commands.withLock { $0.append(command) } }
    }

    final class EventLog: Sendable {
        let events = Mutex<[ClientEvent]>([])
    }

    final class Harness {
        let channel = EmbeddedChannel()
        let dataPlane = RecordingDataPlane()
        let log = EventLog()
        let handler: ClientControlHandler
        let server = IPv4Address(203, 0, 113, 1)
        var key: SessionKey?

        init() throws {
            let log = self.log
            handler = ClientControlHandler(
                configuration: ClientConfiguration(
                    server: "203.0.113.1",
                    credentials: ClientCredentials(userName: "heidi", password: "Heidi-Wrong-Pass")
                ),
                serverAddress: server,
                dataPlane: dataPlane,
                logger: Logger(label: "test"),
                onEvent: { event in log.events.withLock { $0.append(event) } }
            )
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "203.0.113.1", port: 1723)).wait()
        }

        /// The next message the client sent.
        func sent() throws -> ControlMessage? {
            guard let buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
            var decoder = ControlStreamDecoder()
            decoder.append(buffer)
            guard case .message(let message)? = try decoder.next() else { return nil }
            return message
        }

        func receive(_ message: ControlMessage) throws {
            try channel.writeInbound(message.serialized())
        }

        /// SCCRQ/SCCRP, OCRQ/OCRP: the call is up and handed to the data plane.
        func connectCall() throws {
            guard case .startControlConnectionRequest? = try sent() else {
                Issue.record("no SCCRQ")
                return
            }
            try receive(.startControlConnectionReply(.init(hostName: "server", vendor: "test")))
            guard case .outgoingCallRequest(let request)? = try sent() else {
                Issue.record("no OCRQ")
                return
            }
            try receive(.outgoingCallReply(.init(callID: 0x4242, peerCallID: request.callID)))
            key = dataPlane.commands.withLock { commands in
                commands.compactMap { if case .add(let key, _) = $0 { return key } else { return nil } }.first
            }
        }

        var outcome: ClientOutcome? {
            log.events.withLock { events in
                events.compactMap { if case .finished(let outcome) = $0 { return outcome } else { return nil } }.first
            }
        }
    }

    /// A server that refuses the password sends MS-CHAP Failure (on GRE) and then stops the
    /// control connection (on TCP). When the TCP message is handled first, the outcome must still
    /// be the authentication failure PPP reports afterwards (exit code 8, not 5).
    @Test func authenticationFailureReportedAfterTheServerStoppedStillWins() throws {
        let harness = try Harness()
        try harness.connectCall()
        let key = try #require(harness.key)
        try harness.receive(.stopControlConnectionRequest(.init(reason: .none)))
        #expect(harness.outcome == nil, "the ending waits for PPP's reason")
        let failure = AuthenticationFailure.rejected(.authenticationFailure, message: "E=691 R=0 V=3")
        harness.handler.dataPlaneEvent(.ppp(.down(.authenticationFailed(failure))))
        harness.handler.dataPlaneEvent(.removed(SessionStatistics(key: key)))
        #expect(harness.outcome == .authenticationFailed(failure))
        #expect(harness.outcome?.exitCode == 8)
    }

    /// When PPP only saw the call go (lower layer down), the control connection's reason stands.
    @Test func serverStopWithoutAPPPReasonIsAControlConnectionFailure() throws {
        let harness = try Harness()
        try harness.connectCall()
        let key = try #require(harness.key)
        try harness.receive(.stopControlConnectionRequest(.init(reason: .none)))
        harness.handler.dataPlaneEvent(.ppp(.down(.lowerLayerDown)))
        harness.handler.dataPlaneEvent(.removed(SessionStatistics(key: key)))
        guard case .controlConnectionFailed(let text)? = harness.outcome else {
            Issue.record("outcome \(String(describing: harness.outcome))")
            return
        }
        #expect(text.contains("Stop-Control-Connection-Request"))
    }

    /// A user's hang-up: LCP goes down, then Call-Clear-Request alone; the control connection is
    /// stopped once the server's Call-Disconnect-Notify clears the call (accel-ppp answers with
    /// our own Call ID, and leaves a second message in the same segment unread).
    @Test func hangUpWaitsForTheCallDisconnectNotifyBeforeStopping() throws {
        let harness = try Harness()
        try harness.connectCall()
        let key = try #require(harness.key)
        harness.handler.stop()
        harness.handler.dataPlaneEvent(.ppp(.down(.localClose(.userRequest))))
        guard case .callClearRequest(let clear)? = try harness.sent() else {
            Issue.record("no Call-Clear-Request")
            return
        }
        #expect(try harness.sent() == nil, "nothing else until the server answers")
        // accel-ppp 1.14: the PNS's own Call ID in the Call-Disconnect-Notify.
        try harness.receive(.callDisconnectNotify(.init(callID: clear.callID, resultCode: .request)))
        #expect(
            harness.dataPlane.commands.withLock { $0.contains { if case .callCleared = $0 { true } else { false } } },
            "the tunnel is cleared"
        )
        // Once the data plane confirms the tunnel is gone, the connection stops (the last call went).
        harness.handler.dataPlaneEvent(.removed(SessionStatistics(key: key)))
        guard case .stopControlConnectionRequest? = try harness.sent() else {
            Issue.record("no Stop-Control-Connection-Request after the Call-Disconnect-Notify")
            return
        }
    }
}

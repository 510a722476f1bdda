import NIOCore
import PPP
import Testing

@testable import PPTP

/// A client (PNS) and a server (PAC) endpoint wired in memory through their byte streams, with
/// every command each returned.
struct EndpointPair {
    var client = PPTPEndpoint(
        configuration: .init(
            control: .init(role: .pns, hostName: "client"),
            greTimeout: .seconds(5),
            disconnectWait: .seconds(2)
        )
    )
    var server = PPTPEndpoint(
        configuration: .init(
            control: .init(role: .pac, hostName: "server"),
            noCallTimeout: .seconds(30),
            authenticationTimeout: .seconds(15)
        )
    )
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var clientCommands: [PPTPEndpoint.Command] = []
    var serverCommands: [PPTPEndpoint.Command] = []
    /// The server's answer to an offer (its Call ID), or nil to refuse.
    var serverCallID: UInt16? = 0x2222

    mutating func feed(_ commands: [PPTPEndpoint.Command], fromClient: Bool) {
        for command in commands {
            if fromClient { clientCommands.append(command) } else { serverCommands.append(command) }
            switch command {
            case .send(let message):
                let bytes = Array(message.serialized().readableBytesView)
                if fromClient {
                    feed(server.receive(bytes: bytes, now: now), fromClient: false)
                } else {
                    feed(client.receive(bytes: bytes, now: now), fromClient: true)
                }
            case .offered(let offer) where !fromClient:
                feed(server.answer(offer, with: serverCallID, now: now), fromClient: false)
            default:
                break
            }
        }
    }

    mutating func connect() {
        feed(server.accepted(now: now), fromClient: false)
        feed(client.connect(placingCall: 0x1111, now: now), fromClient: true)
    }

    func sent(byClient: Bool) -> [ControlMessage] {
        (byClient ? clientCommands : serverCommands).compactMap {
            if case .send(let message) = $0 { return message } else { return nil }
        }
    }
}

@Suite struct PPTPEndpointTests {
    @Test func clientPlacesItsCallAndTheServerStartsTheTunnelBeforeItReplies() {
        var pair = EndpointPair()
        pair.connect()
        // The server: the tunnel first, then the Outgoing-Call-Reply (so the client's first GRE finds it).
        let startIndex = pair.serverCommands.firstIndex { if case .startTunnel = $0 { true } else { false } }
        let replyIndex = pair.serverCommands.firstIndex {
            if case .send(.outgoingCallReply) = $0 { true } else { false }
        }
        #expect(startIndex != nil && replyIndex != nil && startIndex! < replyIndex!)
        #expect(pair.clientCommands.contains(.startTunnel(CallInformation(pair.client.control.calls[0x1111]!))))
        #expect(pair.server.sessions[0x2222]?.started == true)
        #expect(pair.client.sessions[0x1111]?.started == true)
    }

    @Test func connectionWithoutACallIsStoppedAfterTheNoCallTimeout() {
        let pair = EndpointPair()
        // A peer that establishes and places nothing: SCCRQ by hand.
        var lone = PPTPEndpoint(configuration: pair.server.configuration)
        _ = lone.accepted(now: pair.now)
        let request = Array(ControlMessage.startControlConnectionRequest(.init()).serialized().readableBytesView)
        _ = lone.receive(bytes: request, now: pair.now)
        #expect(lone.isEstablished)
        #expect(lone.nextDeadline == pair.now + .seconds(30))
        let commands = lone.timeout(now: pair.now + .seconds(30))
        #expect(commands.first == .report(.noCallWithin(.seconds(30))))
        #expect(commands.contains { if case .send(.stopControlConnectionRequest) = $0 { true } else { false } })
    }

    @Test func callThatDoesNotAuthenticateInTimeIsClosed() {
        var pair = EndpointPair()
        pair.connect()
        let due = pair.now + .seconds(15)
        #expect(pair.server.nextDeadline == due)
        let commands = pair.server.timeout(now: due)
        #expect(commands.contains(.closeTunnel(callID: 0x2222, .authenticationTimeout)))
        #expect(commands.contains(.report(.notAuthenticatedWithin(callID: 0x2222, .seconds(15)))))
        // Once: the next deadline is the control connection's own.
        #expect(pair.server.timeout(now: due + .seconds(1)).isEmpty)
        // An authenticated call has no such deadline.
        var other = EndpointPair()
        other.connect()
        other.server.sessionAuthenticated(0x2222)
        #expect(!other.server.timeout(now: due).contains(.closeTunnel(callID: 0x2222, .authenticationTimeout)))
    }

    @Test(arguments: [
        (PPPDownReason.peerTerminated("User request"), CallDisconnectResult.request),
        (.echoTimeout(unanswered: 4), .lostCarrier),
        (.lowerLayerDown, .lostCarrier),
        (.authenticationFailed(.rejected(.authenticationFailure, message: "")), .adminShutdown),
        (.localClose(.serverShutdown), .adminShutdown),
    ])
    func serverClearsTheCallWithTheResultThatSaysWhyPPPEnded(reason: PPPDownReason, result: CallDisconnectResult) {
        // RFC 2637 §2.13.
        var pair = EndpointPair()
        pair.connect()
        let commands = pair.server.sessionDown(0x2222, reason: reason, now: pair.now)
        #expect(
            commands.first == .send(.callDisconnectNotify(CallDisconnectNotify(callID: 0x2222, resultCode: result)))
        )
        #expect(commands.contains(.callEnded(callID: 0x2222, reason: .local, started: true)))
        // The tunnel gone, the last call: the server stops the control connection.
        let stop = pair.server.sessionRemoved(0x2222, now: pair.now)
        #expect(stop.contains { if case .send(.stopControlConnectionRequest) = $0 { true } else { false } })
    }

    @Test func hangUpSendsCallClearRequestAloneAndStopsAfterTheDisconnectNotify() {
        var pair = EndpointPair()
        pair.connect()
        pair.clientCommands.removeAll()
        let hangUp = pair.client.hangUp(now: pair.now)
        #expect(hangUp == [.send(.callClearRequest(CallClearRequest(callID: 0x1111)))])
        pair.feed(hangUp, fromClient: true)
        // The server answered with Call-Disconnect-Notify: the client's call ended; its tunnel goes,
        // then the control connection.
        #expect(pair.clientCommands.contains { if case .callEnded(0x1111, _, true) = $0 { true } else { false } })
        #expect(
            !pair.sent(byClient: true).contains { if case .stopControlConnectionRequest = $0 { true } else { false } }
        )
        pair.feed(pair.client.sessionRemoved(0x1111, now: pair.now), fromClient: true)
        #expect(
            pair.sent(byClient: true).contains { if case .stopControlConnectionRequest = $0 { true } else { false } }
        )
    }

    @Test func hangUpStopsAfterTheDisconnectWaitWhenNoNotifyComes() {
        var pair = EndpointPair()
        pair.connect()
        let hangUp = pair.client.hangUp(now: pair.now)
        #expect(hangUp == [.send(.callClearRequest(CallClearRequest(callID: 0x1111)))])
        // Not delivered: the server says nothing.
        let later = pair.now + .seconds(2)
        #expect(pair.client.nextDeadline == later)
        let commands = pair.client.timeout(now: later)
        #expect(commands.contains { if case .send(.stopControlConnectionRequest) = $0 { true } else { false } })
    }

    @Test func noGREFromTheServerIsReportedOnceAndNotAfterGREArrived() {
        var pair = EndpointPair()
        pair.connect()
        let due = pair.now + .seconds(5)
        #expect(pair.client.timeout(now: due) == [.report(.noGREWithin(callID: 0x1111, .seconds(5)))])
        #expect(pair.client.timeout(now: due + .seconds(1)).isEmpty)
        var other = EndpointPair()
        other.connect()
        other.client.greArrived(0x1111)
        #expect(other.client.timeout(now: due).isEmpty)
    }

    @Test func refusedCallLeavesNoSessionAndTheServerAnswersWithAReason() {
        var pair = EndpointPair()
        pair.serverCallID = nil
        pair.connect()
        #expect(pair.server.sessions.isEmpty)
        #expect(
            pair.clientCommands.contains {
                if case .callEnded(0x1111, .outgoingCallRefused, false) = $0 { true } else { false }
            }
        )
        // The client's only call was refused: it stops the control connection.
        #expect(
            pair.sent(byClient: true).contains { if case .stopControlConnectionRequest = $0 { true } else { false } }
        )
    }
}

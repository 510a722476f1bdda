import NIOCore
import PPTP
import Testing

let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

/// A PNS and a PAC control connection wired in memory through their byte streams.
struct ControlPair {
    var pns = ControlConnection(configuration: .init(role: .pns, hostName: "client", vendor: "test-pns"))
    var pac = ControlConnection(
        configuration: .init(role: .pac, hostName: "server", vendor: "test-pac"),
        winsCollision: true
    )
    var pnsActions: [ControlAction] = []
    var pacActions: [ControlAction] = []
    var wire: [(toPAC: Bool, message: ControlMessage)] = []
    var now = t0

    mutating func feed(_ actions: [ControlAction], fromPNS: Bool) {
        for action in actions {
            if fromPNS { pnsActions.append(action) } else { pacActions.append(action) }
            if case .send(let message) = action { wire.append((fromPNS, message)) }
        }
    }

    /// Delivers every message in flight, as bytes, until quiet.
    mutating func run() {
        while !wire.isEmpty {
            let (toPAC, message) = wire.removeFirst()
            let bytes = Array(message.serialized().readableBytesView)
            if toPAC {
                feed(pac.receive(bytes: bytes, now: now), fromPNS: false)
            } else {
                feed(pns.receive(bytes: bytes, now: now), fromPNS: true)
            }
        }
    }

    mutating func establish() {
        feed(pac.accepted(now: now), fromPNS: false)
        feed(pns.connect(now: now), fromPNS: true)
        run()
    }

    func sent(byPNS: Bool) -> [ControlMessage] {
        (byPNS ? pnsActions : pacActions).compactMap { if case .send(let m) = $0 { return m } else { return nil } }
    }
}

@Suite struct ControlConnectionTests {
    @Test func pnsAndPACEstablishTheControlConnection() {
        var pair = ControlPair()
        pair.establish()
        #expect(pair.pns.state == .established)
        #expect(pair.pac.state == .established)
        guard case .startControlConnectionRequest(let request) = pair.sent(byPNS: true).first,
            case .startControlConnectionReply(let reply) = pair.sent(byPNS: false).first
        else {
            Issue.record("no SCCRQ/SCCRP")
            return
        }
        #expect(request.protocolVersion == 0x0100)
        #expect(request.hostName.text == "client")
        #expect(request.vendor.text == "test-pns")
        #expect(reply.protocolVersion == 0x0100)
        #expect(reply.resultCode == .success)
        #expect(reply.errorCode == .none)
        #expect(reply.hostName.text == "server")
        #expect(
            pair.pnsActions.contains {
                if case .established(let peer) = $0 { return peer.vendor == "test-pac" } else { return false }
            }
        )
        #expect(
            pair.pacActions.contains {
                if case .established(let peer) = $0 { return peer.hostName == "client" } else { return false }
            }
        )
    }

    @Test func outgoingCallConnectsAndIsClearedByThePNS() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(
            pair.pns.placeOutgoingCall(callID: 0x1111, serialNumber: 1, phoneNumber: "", now: pair.now),
            fromPNS: true
        )
        pair.run()
        // The PAC offers it to the layer above, which accepts with Call ID 0x2222.
        #expect(
            pair.pacActions.contains {
                if case .callOffered(.outgoing(let r)) = $0 {
                    return r.callID == 0x1111 && r.receiveWindowSize == 64
                } else {
                    return false
                }
            }
        )
        pair.feed(pair.pac.answerCall(peerCallID: 0x1111, with: 0x2222, now: pair.now), fromPNS: false)
        pair.run()
        guard case .outgoingCallReply(let reply) = pair.sent(byPNS: false).last else {
            Issue.record("no OCRP")
            return
        }
        #expect(reply.callID == 0x2222)
        #expect(reply.peerCallID == 0x1111)
        #expect(reply.resultCode == .connected)
        #expect(reply.receiveWindowSize == 64)
        let pnsCall = pair.pnsActions.compactMap { if case .callConnected(let c) = $0 { return c } else { return nil } }
            .first
        #expect(pnsCall?.callID == 0x1111)
        #expect(pnsCall?.peerCallID == 0x2222)
        #expect(pnsCall?.peerWindow == 64)
        #expect(pnsCall?.direction == .outgoing)

        pair.feed(pair.pns.clearCall(0x1111, now: pair.now), fromPNS: true)
        pair.run()
        #expect(pair.sent(byPNS: true).last == .callClearRequest(CallClearRequest(callID: 0x1111)))
        #expect(
            pair.sent(byPNS: false).last
                == .callDisconnectNotify(CallDisconnectNotify(callID: 0x2222, resultCode: .request))
        )
        #expect(pair.pacActions.last == .callCleared(callID: 0x2222, reason: .peerRequested))
        #expect(
            pair.pnsActions.last
                == .callCleared(
                    callID: 0x1111,
                    reason: .disconnected(result: .request, error: .none, cause: 0, statistics: "")
                )
        )
        #expect(pair.pns.calls.isEmpty && pair.pac.calls.isEmpty)
    }

    @Test func outgoingCallClearedByThePAC() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 5, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.run()
        pair.feed(pair.pac.answerCall(peerCallID: 5, with: 6, now: pair.now), fromPNS: false)
        pair.run()
        pair.feed(pair.pac.clearCall(6, result: .adminShutdown, now: pair.now), fromPNS: false)
        pair.run()
        #expect(
            pair.sent(byPNS: false).last
                == .callDisconnectNotify(CallDisconnectNotify(callID: 6, resultCode: .adminShutdown))
        )
        #expect(
            pair.pnsActions.last
                == .callCleared(
                    callID: 5,
                    reason: .disconnected(result: .adminShutdown, error: .none, cause: 0, statistics: "")
                )
        )
    }

    @Test func incomingCallThreeWayHandshake() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(
            pair.pac.placeIncomingCall(
                callID: 77,
                serialNumber: 3,
                dialedNumber: "100",
                dialingNumber: "555",
                now: pair.now
            ),
            fromPNS: false
        )
        pair.run()
        #expect(
            pair.pnsActions.contains {
                if case .callOffered(.incoming(let r)) = $0 {
                    return r.callID == 77 && r.dialingNumber.text == "555"
                } else {
                    return false
                }
            }
        )
        pair.feed(pair.pns.answerCall(peerCallID: 77, with: 88, now: pair.now), fromPNS: true)
        pair.run()
        #expect(
            pair.sent(byPNS: true).last
                == .incomingCallReply(
                    IncomingCallReply(callID: 88, peerCallID: 77, resultCode: .connect, receiveWindowSize: 64)
                )
        )
        guard case .incomingCallConnected(let connected) = pair.sent(byPNS: false).last else {
            Issue.record("no ICCN")
            return
        }
        #expect(connected.peerCallID == 88)
        #expect(
            pair.pacActions.contains {
                if case .callConnected(let c) = $0 {
                    return c.callID == 77 && c.peerCallID == 88 && c.direction == .incoming
                } else {
                    return false
                }
            }
        )
        #expect(
            pair.pnsActions.contains {
                if case .callConnected(let c) = $0 { return c.callID == 88 && c.peerCallID == 77 } else { return false }
            }
        )
    }

    @Test func refusedOutgoingCallIsReportedWithItsResult() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 9, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.run()
        // Call ID exhaustion on the PAC: the allocator has none, the answer is nil.
        pair.feed(pair.pac.answerCall(peerCallID: 9, with: nil, now: pair.now), fromPNS: false)
        pair.run()
        #expect(
            pair.sent(byPNS: false).last
                == .outgoingCallReply(
                    OutgoingCallReply(callID: 0, peerCallID: 9, resultCode: .generalError, errorCode: .noResource)
                )
        )
        #expect(
            pair.pnsActions.last
                == .callCleared(
                    callID: 9,
                    reason: .outgoingCallRefused(result: .generalError, error: .noResource, cause: 0)
                )
        )
    }

    @Test func callIDExhaustion() {
        var allocator = CallIDAllocator(maximumCalls: 3, quarantine: 2)
        let ids = (0..<3).compactMap { _ in allocator.allocate() }
        #expect(ids.count == 3)
        #expect(Set(ids).count == 3)
        #expect(allocator.allocate() == nil)
        allocator.free(ids[0])
        let next = allocator.allocate()
        // A just-freed ID is not reused at once.
        #expect(next != nil && next != ids[0])
    }

    @Test func freedCallIDsAreQuarantined() {
        var allocator = CallIDAllocator(maximumCalls: 65_535, quarantine: 100)
        var recentlyFreed: [UInt16] = []
        for _ in 0..<2000 {
            guard let id = allocator.allocate() else {
                Issue.record("exhausted")
                return
            }
            #expect(!recentlyFreed.suffix(100).contains(id))
            allocator.free(id)
            recentlyFreed.append(id)
        }
    }

    @Test func stopControlConnectionFromThePNS() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 1, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.run()
        pair.feed(pair.pac.answerCall(peerCallID: 1, with: 2, now: pair.now), fromPNS: false)
        pair.run()
        pair.feed(pair.pns.stop(reason: .none, now: pair.now), fromPNS: true)
        pair.run()
        #expect(
            pair.sent(byPNS: true).last == .stopControlConnectionRequest(StopControlConnectionRequest(reason: .none))
        )
        #expect(
            pair.sent(byPNS: false).last == .stopControlConnectionReply(StopControlConnectionReply(resultCode: .ok))
        )
        #expect(pair.pnsActions.last == .close(.localStop(.none)))
        #expect(pair.pacActions.last == .close(.peerStopped(.none)))
        // Calls were reported cleared before the close.
        #expect(pair.pacActions.contains(.callCleared(callID: 2, reason: .controlConnectionClosed)))
        #expect(pair.pnsActions.contains(.callCleared(callID: 1, reason: .controlConnectionClosed)))
        #expect(pair.pns.state == .closed && pair.pac.state == .closed)
    }

    /// A call request before the control connection is established is answered "not connected"
    /// (RFC 2637 §2.16 error code 1) and reported.
    @Test func callRequestsBeforeEstablishmentAreRefusedNotConnected() {
        var pac = ControlConnection(configuration: .init(role: .pac))
        _ = pac.accepted(now: t0)
        let outgoing = pac.receive(.outgoingCallRequest(OutgoingCallRequest(callID: 5, callSerialNumber: 1)), now: t0)
        #expect(
            outgoing.first
                == .send(
                    .outgoingCallReply(
                        OutgoingCallReply(callID: 0, peerCallID: 5, resultCode: .generalError, errorCode: .notConnected)
                    )
                )
        )
        let incoming = pac.receive(.incomingCallRequest(IncomingCallRequest(callID: 6, callSerialNumber: 2)), now: t0)
        #expect(
            incoming.first
                == .send(
                    .incomingCallReply(
                        IncomingCallReply(callID: 0, peerCallID: 6, resultCode: .generalError, errorCode: .notConnected)
                    )
                )
        )
        #expect(outgoing.count == 2 && incoming.count == 2)  // each also reported as a violation
    }

    @Test func echoAfterIdleAndTeardownWhenTheReplyDoesNotCome() {
        var pac = ControlConnection(configuration: .init(role: .pac))
        _ = pac.accepted(now: t0)
        _ = pac.receive(.startControlConnectionRequest(StartControlConnectionRequest()), now: t0)
        // RFC 2637 §3.1.4: 60 s idle → Echo-Request.
        #expect(pac.nextDeadline == t0 + .seconds(60))
        let echo = pac.timeout(now: t0 + .seconds(60))
        guard case .send(.echoRequest(let request)) = echo.first else {
            Issue.record("no Echo-Request")
            return
        }
        // 60 s without the reply → close.
        #expect(pac.nextDeadline == t0 + .seconds(120))
        #expect(pac.timeout(now: t0 + .seconds(120)) == [.close(.echoTimeout)])
        _ = request
    }

    @Test func echoReplyKeepsTheConnection() {
        var pair = ControlPair()
        pair.establish()
        pair.now = t0 + .seconds(60)
        pair.feed(pair.pns.timeout(now: pair.now), fromPNS: true)
        pair.run()
        #expect(
            pair.sent(byPNS: false).last.map {
                if case .echoReply(let r) = $0 { return r.resultCode == .ok } else { return false }
            } == true
        )
        pair.now = t0 + .seconds(125)
        pair.feed(pair.pns.timeout(now: pair.now), fromPNS: true)
        #expect(pair.pns.state == .established)
    }

    @Test func establishTimeoutClosesAnIdleAcceptedConnection() {
        var pac = ControlConnection(configuration: .init(role: .pac, establishTimeout: .seconds(30)))
        _ = pac.accepted(now: t0)
        #expect(pac.nextDeadline == t0 + .seconds(30))
        #expect(pac.timeout(now: t0 + .seconds(29)) == [])
        #expect(pac.timeout(now: t0 + .seconds(30)) == [.close(.establishTimeout)])
    }

    @Test func peerThatNeverAnswersAnOCRQ() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 3, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.wire.removeAll()  // the OCRQ is lost; the PAC never answers
        // RFC 2637 §3.2.1: a minute in wait_reply closes the whole control connection.
        #expect(pair.pns.nextDeadline == t0 + .seconds(60))
        let actions = pair.pns.timeout(now: t0 + .seconds(60))
        #expect(actions.contains(.callCleared(callID: 3, reason: .controlConnectionClosed)))
        #expect(actions.last == .close(.callTimeout(callID: 3)))
    }

    @Test func sccrqCollision() {
        // Both sides sent SCCRQ on the same connection. The winner (higher address) ignores the
        // loser's request and waits for its reply; the loser answers the winner's request.
        #expect(ControlConnection.wins(localAddress: 0xC000_0259, peerAddress: 0xC000_0211))
        var winner = ControlConnection(configuration: .init(role: .pac), winsCollision: true)
        var loser = ControlConnection(configuration: .init(role: .pns), winsCollision: false)
        let winnerRequest = winner.connect(now: t0)
        let loserRequest = loser.connect(now: t0)
        guard case .send(let w) = winnerRequest.first, case .send(let l) = loserRequest.first else { return }
        let winnerSees = winner.receive(l, now: t0)
        #expect(
            winnerSees == [.violation(.unexpectedMessage(.startControlConnectionRequest, state: .waitControlReply))]
        )
        let loserSees = loser.receive(w, now: t0)
        guard case .send(let reply) = loserSees.first else {
            Issue.record("the loser did not answer")
            return
        }
        #expect(reply.messageType == .startControlConnectionReply)
        #expect(loser.state == .established)
        _ = winner.receive(reply, now: t0)
        #expect(winner.state == .established)
    }

    @Test func unsupportedVersionIsRefused() {
        var pac = ControlConnection(configuration: .init(role: .pac))
        _ = pac.accepted(now: t0)
        let actions = pac.receive(
            .startControlConnectionRequest(StartControlConnectionRequest(protocolVersion: 0x0001)),
            now: t0
        )
        guard case .send(.startControlConnectionReply(let reply)) = actions.first else {
            Issue.record("no SCCRP")
            return
        }
        #expect(reply.resultCode == .unsupportedVersion)
        #expect(actions.last == .close(.unsupportedVersion(0x0001)))
    }

    @Test func laterVersionIsAnsweredWithOurs() {
        var pac = ControlConnection(configuration: .init(role: .pac))
        _ = pac.accepted(now: t0)
        let actions = pac.receive(
            .startControlConnectionRequest(StartControlConnectionRequest(protocolVersion: 0x0200)),
            now: t0
        )
        guard case .send(.startControlConnectionReply(let reply)) = actions.first else { return }
        #expect(reply.protocolVersion == 0x0100)
        #expect(reply.resultCode == .success)
    }

    @Test func callDisconnectNotifyForAnUnknownCall() {
        var pair = ControlPair()
        pair.establish()
        let actions = pair.pns.receive(.callDisconnectNotify(CallDisconnectNotify(callID: 999)), now: pair.now)
        #expect(actions == [.violation(.unknownCall(.callDisconnectNotify, callID: 999))])
        #expect(pair.pns.state == .established)
    }

    @Test func windowsCallDisconnectNotifyWithResultZeroIsAccepted() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 1, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.run()
        pair.feed(pair.pac.answerCall(peerCallID: 1, with: 2, now: pair.now), fromPNS: false)
        pair.run()
        let actions = pair.pns.receive(
            .callDisconnectNotify(CallDisconnectNotify(callID: 2, resultCode: .unspecified)),
            now: pair.now
        )
        #expect(
            actions == [
                .callCleared(
                    callID: 1,
                    reason: .disconnected(result: .unspecified, error: .none, cause: 0, statistics: "")
                )
            ]
        )
    }

    @Test func accelPPPDisconnectNotifyWithOurOwnCallIDEndsTheCall() {
        // accel-ppp 1.14 answers Call-Clear-Request with a Call-Disconnect-Notify that carries
        // the PNS's Call ID, not its own (RFC 2637 §2.13): accepted, and said once.
        var pair = ControlPair()
        pair.establish()
        for (ours, theirs) in [(UInt16(0x1111), UInt16(0x2222)), (0x3333, 0x4444)] {
            pair.feed(pair.pns.placeOutgoingCall(callID: ours, serialNumber: ours, now: pair.now), fromPNS: true)
            pair.run()
            pair.feed(pair.pac.answerCall(peerCallID: ours, with: theirs, now: pair.now), fromPNS: false)
            pair.run()
        }
        let first = pair.pns.clearCall(0x1111, result: .request, now: pair.now)
        #expect(first == [.send(.callClearRequest(CallClearRequest(callID: 0x1111)))])
        let accel = pair.pns.receive(
            .callDisconnectNotify(CallDisconnectNotify(callID: 0x1111, resultCode: .request)),
            now: pair.now
        )
        #expect(
            accel == [
                .peerQuirk(.disconnectNotifyWithOurCallID(0x1111)),
                .callCleared(
                    callID: 0x1111,
                    reason: .disconnected(result: .request, error: .none, cause: 0, statistics: "")
                ),
            ]
        )
        // The second time the quirk is not said again.
        _ = pair.pns.clearCall(0x3333, result: .request, now: pair.now)
        let again = pair.pns.receive(
            .callDisconnectNotify(CallDisconnectNotify(callID: 0x3333, resultCode: .request)),
            now: pair.now
        )
        #expect(
            again == [
                .callCleared(
                    callID: 0x3333,
                    reason: .disconnected(result: .request, error: .none, cause: 0, statistics: "")
                )
            ]
        )
        #expect(pair.pns.calls.isEmpty)
    }

    @Test func disconnectNotifyNamingTwoCallsTakesTheRFCReading() {
        // Call A is ours 5 / theirs 6, call B ours 6 / theirs 7: "6" is B's own ID and A's peer
        // ID; RFC 2637 §2.13 says the PAC's ID, so A ends.
        var pair = ControlPair()
        pair.establish()
        for (ours, theirs) in [(UInt16(5), UInt16(6)), (6, 7)] {
            pair.feed(pair.pns.placeOutgoingCall(callID: ours, serialNumber: ours, now: pair.now), fromPNS: true)
            pair.run()
            pair.feed(pair.pac.answerCall(peerCallID: ours, with: theirs, now: pair.now), fromPNS: false)
            pair.run()
        }
        let actions = pair.pns.receive(.callDisconnectNotify(CallDisconnectNotify(callID: 6)), now: pair.now)
        #expect(actions.count == 1)
        guard case .callCleared(let cleared, _)? = actions.first else {
            Issue.record("no call cleared: \(actions)")
            return
        }
        #expect(cleared == 5)
        #expect(pair.pns.calls.ids == [6])
    }

    @Test func framingLossClosesTheConnection() {
        var pac = ControlConnection(configuration: .init(role: .pac))
        _ = pac.accepted(now: t0)
        let actions = pac.receive(bytes: [0x00, 0x10, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF], now: t0)
        #expect(actions == [.close(.framingLost(.badMagicCookie(0xDEAD_BEEF)))])
    }

    @Test func duplicateOutgoingCallRequestIsRefused() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 4, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.run()
        let again = pair.pac.receive(
            .outgoingCallRequest(OutgoingCallRequest(callID: 4, callSerialNumber: 2)),
            now: pair.now
        )
        #expect(again.first == .violation(.duplicateCall(peerCallID: 4)))
        #expect(
            again.last
                == .send(
                    .outgoingCallReply(
                        OutgoingCallReply(callID: 0, peerCallID: 4, resultCode: .generalError, errorCode: .badCallID)
                    )
                )
        )
    }

    @Test func setLinkInfoIsAcceptedRepeatedly() {
        var pair = ControlPair()
        pair.establish()
        pair.feed(pair.pns.placeOutgoingCall(callID: 1, serialNumber: 1, now: pair.now), fromPNS: true)
        pair.run()
        pair.feed(pair.pac.answerCall(peerCallID: 1, with: 2, now: pair.now), fromPNS: false)
        pair.run()
        for accm: UInt32 in [0xFFFF_FFFF, 0] {
            pair.feed(pair.pns.sendLinkInfo(1, sendACCM: accm, receiveACCM: accm), fromPNS: true)
            pair.run()
            #expect(pair.pacActions.last == .linkInfo(callID: 2, sendACCM: accm, receiveACCM: accm))
        }
    }
}

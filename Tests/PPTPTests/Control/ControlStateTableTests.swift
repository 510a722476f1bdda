import NIOCore
import PPTP
import Testing

/// Every control message received in every state, with the RFC 2637 answer (§3.1, §3.2). Each
/// cell lists the actions in order: `send X`, `established`, `offer`, `connected`, `cleared`,
/// `linkinfo`, `wanerror`, `violation`, `close`; `-` for nothing.
///
/// States: R = wait_ctl_request (receiver), Q = wait_ctl_reply (originator), P = established as
/// PAC with call 100↔7, N = established as PNS with call 200↔9, S = wait_stop_reply (PNS), C = closed.
private let table: [(ControlMessageType, [String: String])] = [
    (
        .startControlConnectionRequest,
        [
            "R": "send SCCRP,established", "Q": "violation", "P": "violation", "N": "violation", "S": "violation",
            "C": "-",
        ]
    ),
    (
        .startControlConnectionReply,
        ["R": "violation", "Q": "established", "P": "violation", "N": "violation", "S": "violation", "C": "-"]
    ),
    (
        .stopControlConnectionRequest,
        [
            "R": "send StopCCRP,close", "Q": "send StopCCRP,close", "P": "send StopCCRP,cleared,close",
            "N": "send StopCCRP,cleared,close", "S": "send StopCCRP,close", "C": "-",
        ]
    ),
    (
        .stopControlConnectionReply,
        ["R": "violation", "Q": "violation", "P": "violation", "N": "violation", "S": "close", "C": "-"]
    ),
    (
        .echoRequest,
        [
            "R": "send Echo-Reply", "Q": "send Echo-Reply", "P": "send Echo-Reply", "N": "send Echo-Reply",
            "S": "send Echo-Reply", "C": "-",
        ]
    ),
    (.echoReply, ["R": "violation", "Q": "violation", "P": "violation", "N": "violation", "S": "violation", "C": "-"]),
    (
        .outgoingCallRequest,
        [
            "R": "send OCRP,violation", "Q": "send OCRP,violation", "P": "offer", "N": "send OCRP", "S": "violation",
            "C": "-",
        ]
    ),
    (
        .outgoingCallReply,
        ["R": "violation", "Q": "violation", "P": "violation", "N": "violation", "S": "violation", "C": "-"]
    ),
    (
        .incomingCallRequest,
        [
            "R": "send ICRP,violation", "Q": "send ICRP,violation", "P": "send ICRP", "N": "offer", "S": "violation",
            "C": "-",
        ]
    ),
    (
        .incomingCallReply,
        ["R": "violation", "Q": "violation", "P": "violation", "N": "violation", "S": "violation", "C": "-"]
    ),
    (
        .incomingCallConnected,
        ["R": "violation", "Q": "violation", "P": "violation", "N": "violation", "S": "violation", "C": "-"]
    ),
    (
        .callClearRequest,
        [
            "R": "violation", "Q": "violation", "P": "send Call-Disconnect-Notify,cleared", "N": "violation",
            "S": "violation", "C": "-",
        ]
    ),
    (
        .callDisconnectNotify,
        ["R": "violation", "Q": "violation", "P": "violation", "N": "cleared", "S": "violation", "C": "-"]
    ),
    (
        .wanErrorNotify,
        ["R": "violation", "Q": "violation", "P": "violation", "N": "wanerror", "S": "violation", "C": "-"]
    ),
    (
        .setLinkInfo,
        ["R": "violation", "Q": "violation", "P": "linkinfo", "N": "violation", "S": "violation", "C": "-"]
    ),
]

/// A message of each type, with Call IDs that match the calls of states P and N.
private func message(_ type: ControlMessageType) -> ControlMessage {
    switch type {
    case .startControlConnectionRequest: return .startControlConnectionRequest(.init())
    case .startControlConnectionReply: return .startControlConnectionReply(.init())
    case .stopControlConnectionRequest: return .stopControlConnectionRequest(.init())
    case .stopControlConnectionReply: return .stopControlConnectionReply(.init())
    case .echoRequest: return .echoRequest(.init(identifier: 5))
    case .echoReply: return .echoReply(.init(identifier: 0xFFFF))  // matches no request of ours
    case .outgoingCallRequest: return .outgoingCallRequest(.init(callID: 50, callSerialNumber: 1))
    case .outgoingCallReply: return .outgoingCallReply(.init(callID: 51, peerCallID: 300))  // no such call waiting
    case .incomingCallRequest: return .incomingCallRequest(.init(callID: 52, callSerialNumber: 1))
    case .incomingCallReply: return .incomingCallReply(.init(callID: 53, peerCallID: 300))
    case .incomingCallConnected: return .incomingCallConnected(.init(peerCallID: 300))
    case .callClearRequest: return .callClearRequest(.init(callID: 7))  // the PNS's ID of the PAC's call
    case .callDisconnectNotify: return .callDisconnectNotify(.init(callID: 9))  // the PAC's ID of the PNS's call
    case .wanErrorNotify: return .wanErrorNotify(.init(peerCallID: 200))
    case .setLinkInfo: return .setLinkInfo(.init(peerCallID: 100))
    default: return .echoRequest(.init(identifier: 0))
    }
}

private func connection(in state: String) -> ControlConnection {
    switch state {
    case "R":
        var c = ControlConnection(configuration: .init(role: .pac))
        _ = c.accepted(now: t0)
        return c
    case "Q":
        var c = ControlConnection(configuration: .init(role: .pns))
        _ = c.connect(now: t0)
        return c
    case "P":
        var c = ControlConnection(configuration: .init(role: .pac))
        _ = c.accepted(now: t0)
        _ = c.receive(.startControlConnectionRequest(.init()), now: t0)
        _ = c.receive(.outgoingCallRequest(.init(callID: 7, callSerialNumber: 1)), now: t0)
        _ = c.answerCall(peerCallID: 7, with: 100, now: t0)
        return c
    case "N", "S":
        var c = ControlConnection(configuration: .init(role: .pns))
        _ = c.connect(now: t0)
        _ = c.receive(.startControlConnectionReply(.init()), now: t0)
        _ = c.placeOutgoingCall(callID: 200, serialNumber: 1, now: t0)
        _ = c.receive(.outgoingCallReply(.init(callID: 9, peerCallID: 200)), now: t0)
        if state == "S" { _ = c.stop(now: t0) }
        return c
    default:
        var c = ControlConnection(configuration: .init(role: .pac))
        _ = c.accepted(now: t0)
        _ = c.stop(now: t0)
        return c
    }
}

private func summary(_ actions: [ControlAction]) -> String {
    let parts = actions.map { action -> String in
        switch action {
        case .send(let message): return "send \(message.messageType)"
        case .established: return "established"
        case .callOffered: return "offer"
        case .callConnected: return "connected"
        case .callCleared: return "cleared"
        case .linkInfo: return "linkinfo"
        case .wanError: return "wanerror"
        case .violation: return "violation"
        case .peerQuirk: return "quirk"
        case .close: return "close"
        }
    }
    return parts.isEmpty ? "-" : parts.joined(separator: ",")
}

struct ControlCell: CustomStringConvertible, Sendable {
    var type: ControlMessageType
    var state: String
    var expected: String
    var description: String { "\(type) in \(state)" }
}

private let cells: [ControlCell] = table.flatMap { type, row in
    row.map { ControlCell(type: type, state: $0.key, expected: $0.value) }
}

@Suite struct ControlStateTableTests {
    @Test func tableCoversEveryMessageInEveryState() {
        #expect(cells.count == 15 * 6)
    }

    @Test(arguments: cells)
    func answerMatchesTheRFC(_ cell: ControlCell) {
        var c = connection(in: cell.state)
        let before = c.state
        let actions = c.receive(message(cell.type), now: t0)
        #expect(summary(actions) == cell.expected, "\(cell)")
        // The machine stays consistent: it never leaves a closed state, calls only exist when
        // established, and every close reports the calls first.
        if before == .closed { #expect(c.state == .closed) }
        if c.state != .established && c.state != .waitStopReply { #expect(c.calls.isEmpty) }
        if actions.contains(where: { if case .close = $0 { return true } else { return false } }) {
            #expect(c.state == .closed)
        }
    }
}

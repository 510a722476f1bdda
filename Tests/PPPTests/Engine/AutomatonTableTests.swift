import NIOCore
import Testing

@testable import PPP

/// A negotiator that agrees to everything: the table test exercises the automaton alone.
struct AgreeableNegotiator: OptionNegotiator {
    typealias Option = IPCPOption
    var requested: [IPCPOption] = [.ipAddress(IPv4Address(192, 0, 2, 1))]
    mutating func resetNegotiation() {}
    func requestOptions() -> [IPCPOption] { requested }
    mutating func evaluateRequest(_ options: [IPCPOption]) -> RequestEvaluation<IPCPOption> { .ack }
    mutating func requestAcknowledged(_ options: [IPCPOption]) {}
    mutating func requestNaked(_ options: [IPCPOption]) -> NegotiationStep { .proceed }
    mutating func requestRejected(_ options: [IPCPOption]) -> NegotiationStep { .proceed }
}

/// RFC 1661 §4.1, copied from the RFC: events down, states 0–9 across, "actions/new-state".
private let stateTable = """
    Up   |    2     irc,scr/6     -         -         -         -         -         -         -           -
    Down |    -         -         0       tls/1       0         1         1         1         1         tld/1
    Open |  tls/1       1     irc,scr/6     3r        5r        5r        6         7         8           9r
    Close|    0       tlf/0       2         2         4         4     irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
    TO+  |    -         -         -         -       str/4     str/5     scr/6     scr/6     scr/8         -
    TO-  |    -         -         -         -       tlf/2     tlf/3     tlf/3p    tlf/3p    tlf/3p        -
    RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5       sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
    RCR- |    -         -       sta/2 irc,scr,scn/6   4         5       scn/6     scn/7     scn/6   tld,scr,scn/6
    RCA  |    -         -       sta/2     sta/3       4         5       irc/7     scr/6x  irc,tlu/9   tld,scr/6x
    RCN  |    -         -       sta/2     sta/3       4         5     irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
    RTR  |    -         -       sta/2     sta/3     sta/4     sta/5     sta/6     sta/6     sta/6   tld,zrc,sta/5
    RTA  |    -         -         2         3       tlf/2     tlf/3       6         6         8       tld,scr/6
    RUC  |    -         -       scj/2     scj/3     scj/4     scj/5     scj/6     scj/7     scj/8       scj/9
    RXJ+ |    -         -         2         3         4         5         6         6         8           9
    RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3     tlf/3     tlf/3     tlf/3   tld,irc,str/5
    RXR  |    -         -         2         3         4         5         6         7         8         ser/9
    """

private typealias Automaton = NegotiationAutomaton<AgreeableNegotiator>

private let events: [String: Automaton.TableEvent] = [
    "Up": .up, "Down": .down, "Open": .open, "Close": .close, "TO+": .timeoutPositive, "TO-": .timeoutNegative,
    "RCR+": .rcrGood, "RCR-": .rcrBad, "RCA": .rca, "RCN": .rcn, "RTR": .rtr, "RTA": .rta, "RUC": .ruc,
    "RXJ+": .rxjGood, "RXJ-": .rxjBad, "RXR": .rxr,
]

struct TableCell: CustomStringConvertible, Sendable {
    var event: String
    var state: Int
    var cell: String
    var description: String { "\(event) in state \(state): \(cell)" }
}

private let cells: [TableCell] = stateTable.split(separator: "\n").flatMap { line -> [TableCell] in
    let parts = line.split(separator: "|")
    let event = String(parts[0].filter { $0 != " " })
    let entries = parts[1].split(separator: " ").map(String.init)
    return entries.enumerated().map { TableCell(event: event, state: $0.offset, cell: $0.element) }
}

@Suite struct AutomatonTableTests {
    @Test func tableHasEveryCell() {
        #expect(cells.count == 16 * 10)
    }

    /// One case per cell of RFC 1661 §4.1: the actions taken and the state reached.
    @Test(arguments: cells)
    func transitionMatchesRFC1661(_ cell: TableCell) throws {
        let state = try #require(Automaton.State(rawValue: cell.state))
        let event = try #require(events[cell.event])
        var automaton = Automaton(negotiator: AgreeableNegotiator())
        _ = automaton.inject(event, in: state, now: .uptimeNanoseconds(0))
        if cell.cell == "-" {
            // An illegal event: nothing happens.
            #expect(automaton.state == state)
            #expect(automaton.lastPrimitives.isEmpty)
            return
        }
        var text = cell.cell
        // Footnote letters (r restart, p passive, x crossed connection) do not change the cell.
        while let last = text.last, last.isLetter { text.removeLast() }
        let pieces = text.split(separator: "/")
        let expectedActions = pieces.count == 2 ? pieces[0].split(separator: ",").map(String.init) : []
        let expectedState = try #require(Int(pieces.last ?? ""))
        #expect(automaton.lastPrimitives.map(\.rawValue) == expectedActions)
        #expect(automaton.state.rawValue == expectedState)
    }

    @Test func restartTimerRunsOnlyInTheStatesWithTimeouts() {
        var automaton = Automaton(negotiator: AgreeableNegotiator())
        let t0 = NIODeadline.uptimeNanoseconds(0)
        _ = automaton.handle(.open, now: t0)
        #expect(automaton.nextDeadline == nil)  // Starting
        _ = automaton.handle(.up, now: t0)
        #expect(automaton.state == .reqSent)
        #expect(automaton.nextDeadline == t0 + .seconds(3))
        _ = automaton.handle(.close(reason: []), now: t0)
        #expect(automaton.state == .closing)
        #expect(automaton.nextDeadline == t0 + .seconds(3))
        _ = automaton.handle(.timeout, now: t0 + .seconds(3))
        _ = automaton.handle(.timeout, now: t0 + .seconds(6))
        // Max-Terminate (2) Terminate-Requests, then TO-: Closed, timer stopped.
        #expect(automaton.state == .closed)
        #expect(automaton.nextDeadline == nil)
    }

    @Test func retransmissionKeepsTheIdentifierAndANewRequestChangesIt() {
        var automaton = Automaton(negotiator: AgreeableNegotiator())
        let t0 = NIODeadline.uptimeNanoseconds(0)
        _ = automaton.handle(.open, now: t0)
        let first = automaton.handle(.up, now: t0)
        let second = automaton.handle(.timeout, now: t0 + .seconds(3))
        guard case .send(let a) = first.first, case .send(let b) = second.first else {
            Issue.record("no requests")
            return
        }
        #expect(a.identifier == b.identifier)
        // A Nak forces a new identifier (RFC 1661 §5.1).
        let nak = ControlPacket(code: .configureNak, identifier: b.identifier, data: [])
        let third = automaton.handle(.received(nak), now: t0 + .seconds(4))
        guard case .send(let c) = third.first else {
            Issue.record("no new request")
            return
        }
        #expect(c.identifier != b.identifier)
    }

    @Test func ackWithWrongIdentifierOrOptionsIsDiscarded() {
        var automaton = Automaton(negotiator: AgreeableNegotiator())
        let t0 = NIODeadline.uptimeNanoseconds(0)
        _ = automaton.handle(.open, now: t0)
        guard case .send(let request) = automaton.handle(.up, now: t0).first else { return }
        let wrongID = ControlPacket(code: .configureAck, identifier: request.identifier &+ 1, data: request.data)
        #expect(automaton.handle(.received(wrongID), now: t0) == [])
        let wrongOptions = ControlPacket(code: .configureAck, identifier: request.identifier, data: [3, 6, 1, 2, 3, 4])
        #expect(automaton.handle(.received(wrongOptions), now: t0) == [])
        #expect(automaton.state == .reqSent)
        #expect(automaton.discardedPackets == 2)
        let good = ControlPacket(code: .configureAck, identifier: request.identifier, data: request.data)
        _ = automaton.handle(.received(good), now: t0)
        #expect(automaton.state == .ackRcvd)
    }

    @Test func maxFailureTurnsNaksIntoRejects() {
        struct Stubborn: OptionNegotiator {
            typealias Option = IPCPOption
            mutating func resetNegotiation() {}
            func requestOptions() -> [IPCPOption] { [] }
            mutating func evaluateRequest(_ options: [IPCPOption]) -> RequestEvaluation<IPCPOption> {
                .nak([.ipAddress(IPv4Address(192, 0, 2, 9))])
            }
            mutating func requestAcknowledged(_ options: [IPCPOption]) {}
            mutating func requestNaked(_ options: [IPCPOption]) -> NegotiationStep { .proceed }
            mutating func requestRejected(_ options: [IPCPOption]) -> NegotiationStep { .proceed }
        }
        var automaton = NegotiationAutomaton(negotiator: Stubborn())
        let t0 = NIODeadline.uptimeNanoseconds(0)
        _ = automaton.handle(.open, now: t0)
        _ = automaton.handle(.up, now: t0)
        let request = IPCPMessage.configureRequest([.ipAddress(.unspecified)])
        var codes: [ControlCode] = []
        for id in 0..<7 {
            for case .send(let packet) in automaton.handle(.received(request.packet(identifier: UInt8(id))), now: t0) {
                codes.append(packet.code)
            }
        }
        // RFC 1661 §4.6: Max-Failure (5) Naks, then Configure-Reject.
        #expect(codes == Array(repeating: .configureNak, count: 5) + [.configureReject, .configureReject])
    }

    @Test func unknownCodeIsCodeRejected() {
        var automaton = Automaton(negotiator: AgreeableNegotiator())
        let t0 = NIODeadline.uptimeNanoseconds(0)
        _ = automaton.handle(.open, now: t0)
        _ = automaton.handle(.up, now: t0)
        let odd = ControlPacket(code: .init(42), identifier: 7, data: [1, 2])
        guard case .send(let reject) = automaton.handle(.received(odd), now: t0).first else {
            Issue.record("no Code-Reject")
            return
        }
        #expect(reject.code == .codeReject)
        #expect(reject.data == odd.bytes)
    }
}

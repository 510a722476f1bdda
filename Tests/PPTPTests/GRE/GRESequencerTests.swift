import NIOCore
import PPTP
import PropertyBased
import Testing

@Suite struct GRESequencerTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func inOrderPacketsAreDeliveredAtOnce() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        for sequence in UInt32(0)..<10 {
            #expect(s.arrive(sequence, now: t0) == .process(.next))
        }
        #expect(s.counters.delivered == 10)
        #expect(s.lastDelivered == 9)
    }

    @Test func reorderedPacketIsHeldThenReleasedInOrder() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        #expect(s.arrive(20, now: t0) == .process(.next))
        // Capture 10: 22 arrives before 21.
        #expect(s.arrive(22, now: t0) == .hold)
        #expect(s.drain(now: t0) == [])
        #expect(s.arrive(21, now: t0) == .process(.next))
        #expect(s.drain(now: t0) == [22])
        #expect(s.drain(now: t0) == [])
        #expect(s.counters.reordered == 1)
        #expect(s.counters.lost == 0)
    }

    @Test func gapIsGivenUpAfterTheReorderTimeout() {
        var s = GRESequencer<UInt32>(configuration: .init(reorderTimeout: .milliseconds(50)), peerWindow: 64)
        _ = s.arrive(0, now: t0)
        #expect(s.arrive(2, now: t0) == .hold)
        #expect(s.nextDeadline == min(t0 + .milliseconds(50), t0 + .milliseconds(100)))
        #expect(s.drain(now: t0 + .milliseconds(49)) == [])
        _ = s.timeout(now: t0 + .milliseconds(50))
        let released = s.nextReleased(now: t0 + .milliseconds(50))
        #expect(released?.sequence == 2)
        #expect(released?.position == .afterGap(missing: 1))
        s.commit(2, now: t0 + .milliseconds(50))
        #expect(s.counters.lost == 1)
        // The late packet is now too old.
        #expect(s.receive(sequence: 1, now: t0 + .milliseconds(60)) == .drop(.late))
    }

    @Test func duplicatesAreDropped() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        _ = s.arrive(5, now: t0)
        #expect(s.receive(sequence: 5, now: t0) == .drop(.duplicate))
        #expect(s.arrive(7, now: t0) == .hold)
        #expect(s.receive(sequence: 7, now: t0) == .drop(.duplicate))
        #expect(s.counters.duplicates == 2)
    }

    @Test func sequenceNumbersWrapAt32Bits() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        #expect(s.arrive(UInt32.max - 1, now: t0) == .process(.next))
        #expect(s.arrive(UInt32.max, now: t0) == .process(.next))
        #expect(s.arrive(0, now: t0) == .process(.next))
        #expect(s.arrive(2, now: t0) == .hold)
        #expect(s.arrive(1, now: t0) == .process(.next))
        #expect(s.drain(now: t0) == [2])
        #expect(s.receive(sequence: UInt32.max, now: t0) == .drop(.late))
    }

    @Test func nothingMovesUntilAPacketIsCommitted() {
        // A packet that fails its check (forged, corrupt) is never committed: the next real one
        // is still the next.
        var s = GRESequencer<UInt32>(peerWindow: 64)
        _ = s.arrive(10, now: t0)
        #expect(s.receive(sequence: 11, now: t0) == .process(.next))
        #expect(s.lastDelivered == 10)
        #expect(s.nextDeadline == t0 + .milliseconds(100))  // only the ack for 10
        #expect(s.arrive(11, now: t0) == .process(.next))
        #expect(s.counters.delivered == 2)
        #expect(s.counters.lost == 0)
    }

    @Test func farJumpIsProcessedAsAJumpAndMovesNothingUntilCommitted() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        _ = s.arrive(10, now: t0)
        // Issue 22 item 6: sequence + 1 000 000 from a spoofed source took over the baseline.
        #expect(s.receive(sequence: 1_000_010, now: t0) == .process(.jump(distance: 1_000_000)))
        #expect(s.lastDelivered == 10)
        #expect(s.arrive(11, now: t0) == .process(.next))
        // A real burst loss: the tunnel commits the jump once its payload is authenticated.
        #expect(s.receive(sequence: 211, now: t0) == .process(.jump(distance: 200)))
        s.commit(211, now: t0)
        #expect(s.lastDelivered == 211)
        #expect(s.counters.lost == 199)
    }

    @Test func farPacketWaitsBehindHeldPacketsAndIsReleasedAsAJump() {
        var s = GRESequencer<UInt32>(configuration: .init(reorderTimeout: .milliseconds(50)), peerWindow: 64)
        _ = s.arrive(0, now: t0)
        #expect(s.arrive(2, now: t0) == .hold)
        #expect(s.arrive(1000, now: t0) == .hold)
        let later = t0 + .milliseconds(50)
        #expect(s.nextReleased(now: later)?.position == .afterGap(missing: 1))
        s.commit(2, now: later)
        let far = s.nextReleased(now: later)
        #expect(far?.sequence == 1000)
        #expect(far?.position == .jump(distance: 998))
        #expect(s.nextReleased(now: later) == nil)
        #expect(s.lastDelivered == 2)
    }

    @Test func fullReorderBufferReleasesTheOldestAtOnce() {
        var s = GRESequencer<UInt32>(configuration: .init(reorderCapacity: 2), peerWindow: 64)
        _ = s.arrive(0, now: t0)
        #expect(s.arrive(3, now: t0) == .hold)
        #expect(s.arrive(4, now: t0) == .hold)
        #expect(s.drain(now: t0) == [])
        #expect(s.arrive(5, now: t0) == .hold)
        // Three held, two allowed: 3 goes (the gap of 1–2 is given up), then 4 and 5 in order.
        #expect(s.drain(now: t0) == [3, 4, 5])
        #expect(s.counters.lost == 2)
    }

    @Test func anUnauthenticatedJumpNeedsASecondPacketThatContinuesIt() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        _ = s.arrive(0, now: t0)
        #expect(s.confirmJump(5000) == false)
        #expect(s.confirmJump(900_000) == false)  // does not continue 5000: the new candidate
        let confirmed = s.confirmJump(900_001)
        #expect(confirmed)
        #expect(s.counters.unconfirmedJumps == 2)
        s.commit(900_001, now: t0)
        #expect(s.confirmJump(2_000_000) == false)  // the candidate went with the commit
    }

    @Test func ackOnlyPacketGoesOutAfterTheAckTimeoutWhenNothingElseDoes() {
        var s = GRESequencer<UInt32>(configuration: .init(ackTimeout: .milliseconds(100)), peerWindow: 64)
        _ = s.arrive(0, now: t0)
        #expect(s.nextDeadline == t0 + .milliseconds(100))
        #expect(s.timeout(now: t0 + .milliseconds(99)) == [])
        #expect(s.timeout(now: t0 + .milliseconds(100)) == [.sendAcknowledgment(0)])
        // Nothing more is owed.
        #expect(s.nextDeadline == nil)
    }

    @Test func ackIsPiggyBackedOnData() {
        var s = GRESequencer<UInt32>(peerWindow: 64)
        _ = s.arrive(3, now: t0)
        let numbers = s.sequenceNextPacket(now: t0)
        #expect(numbers?.sequence == 0)
        #expect(numbers?.acknowledgment == 3)
        #expect(s.sequenceNextPacket(now: t0)?.acknowledgment == nil)
        #expect(s.timeout(now: t0 + .seconds(1)).isEmpty)
    }

    @Test func peerWindowIsRespectedAndOpensWithAcks() {
        var s = GRESequencer<UInt32>(peerWindow: 8)
        // RFC 2637 §4.2.1: the initial window is half the peer's.
        #expect(s.window == 4)
        for _ in 0..<4 { #expect(s.sequenceNextPacket(now: t0) != nil) }
        #expect(s.sequenceNextPacket(now: t0) == nil)
        #expect(s.counters.droppedForWindow == 1)
        s.receiveAcknowledgment(3, now: t0 + .milliseconds(10))
        #expect(s.window == 5)  // a whole window acknowledged: +1 (§4.2.3)
        #expect(s.sequenceNextPacket(now: t0) != nil)
    }

    @Test func windowOfZeroMeansNoFlowControl() {
        var s = GRESequencer<UInt32>(peerWindow: 0)
        for _ in 0..<10_000 { #expect(s.sequenceNextPacket(now: t0) != nil) }
    }

    @Test func ackTimeoutHalvesTheWindowAndBacksOff() {
        var s = GRESequencer<UInt32>(configuration: .init(minimumAckTimeout: .milliseconds(100)), peerWindow: 16)
        for _ in 0..<8 { _ = s.sequenceNextPacket(now: t0) }
        #expect(s.window == 8)
        #expect(s.sequenceNextPacket(now: t0) == nil)
        let timeout = s.adaptiveTimeout
        _ = s.timeout(now: t0 + timeout)
        #expect(s.window == 4)
        #expect(s.adaptiveTimeout == timeout * 2)
        #expect(s.counters.ackTimeouts == 1)
        // No retransmission: the outstanding packets are written off and sending resumes.
        #expect(s.sequenceNextPacket(now: t0 + timeout) != nil)
    }

    @Test func roundTripEstimateFollowsRFC2637() {
        var s = GRESequencer<UInt32>(configuration: .init(minimumAckTimeout: .nanoseconds(1)), peerWindow: 64)
        for i in 0..<100 {
            let sent = t0 + .milliseconds(Int64(i) * 10)
            _ = s.sequenceNextPacket(now: sent)
            s.receiveAcknowledgment(UInt32(i), now: sent + .milliseconds(40))
        }
        // A steady 40 ms sample converges RTT to 40 ms and the deviation to 0: ATO ≈ 40 ms (on
        // the injected clock: this is arithmetic, not a measured time).
        let distanceFrom40ms = abs(s.adaptiveTimeout.nanoseconds - 40_000_000)
        #expect(distanceFrom40ms < 2_000_000)
    }

    /// Random sequences with loss, duplication, reordering and a 32-bit wrap: every packet is
    /// delivered at most once and in order, the rest is reported lost, and the reorder buffer
    /// stays within its bound.
    @Test func randomArrivalOrdersDeliverAtMostOnceInOrder() async {
        await propertyCheck(
            count: 300,
            input: Gen.uint8(in: 0...255).array(of: 20...300),
            Gen.uint32(in: 0...UInt32.max)
        ) { noise, start in
            var s = GRESequencer<UInt32>(
                configuration: .init(reorderTimeout: .milliseconds(50), reorderCapacity: 16),
                peerWindow: 64
            )
            // Build an arrival list: each packet lost (1/8), duplicated (1/16) or displaced a little.
            var arrivals: [UInt32] = []
            for (i, n) in noise.enumerated() {
                let sequence = start &+ UInt32(i)
                if n % 8 == 0 { continue }
                arrivals.append(sequence)
                if n % 16 == 1 { arrivals.append(sequence) }
            }
            for i in stride(from: 0, to: arrivals.count - 1, by: 3) where noise[i % noise.count] % 3 == 0 {
                arrivals.swapAt(i, i + 1)
            }
            var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
            var delivered: [UInt32] = []
            for sequence in arrivals {
                now = now + .milliseconds(1)
                if case .process = s.arrive(sequence, now: now) { delivered.append(sequence) }
                delivered += s.drain(now: now)
                #expect(s.heldCount <= 16)
                if let deadline = s.nextDeadline, deadline <= now {
                    _ = s.timeout(now: now)
                    delivered += s.drain(now: now)
                }
            }
            now = now + .seconds(1)
            _ = s.timeout(now: now)
            delivered += s.drain(now: now)
            // At most once, strictly increasing in serial order.
            #expect(Set(delivered).count == delivered.count)
            for (a, b) in zip(delivered, delivered.dropFirst()) { #expect(Int32(bitPattern: b &- a) > 0) }
            // Everything between the first and last delivered is delivered or counted lost.
            if let first = delivered.first, let last = delivered.last {
                let span = Int(last &- first) + 1
                #expect(delivered.count + s.counters.lost == span)
            }
        }
    }
}

extension GRESequencer where Payload == UInt32 {
    /// A genuine packet: received, then committed or held as the sequencer says (the payload is the
    /// sequence number itself).
    mutating func arrive(_ sequence: UInt32, now: NIODeadline) -> GREArrival {
        let arrival = receive(sequence: sequence, now: now)
        switch arrival {
        case .process: commit(sequence, now: now)
        case .hold: hold(sequence)
        case .drop: break
        }
        return arrival
    }

    /// Releases and commits every packet that is due.
    mutating func drain(now: NIODeadline) -> [UInt32] {
        var out: [UInt32] = []
        while let released = nextReleased(now: now) {
            commit(released.sequence, now: now)
            out.append(released.payload)
        }
        return out
    }
}

import NIOCore
import PPTP
import PropertyBased
import Testing

@Suite struct GRESequencerTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func inOrderPacketsAreDeliveredAtOnce() {
        var s = GRESequencer<Int>(peerWindow: 64)
        for sequence in UInt32(0)..<10 {
            #expect(s.receive(sequence: sequence, now: t0) == .deliver)
        }
        #expect(s.counters.delivered == 10)
        #expect(s.lastDelivered == 9)
    }

    @Test func reorderedPacketIsHeldThenReleasedInOrder() {
        var s = GRESequencer<Int>(peerWindow: 64)
        #expect(s.receive(sequence: 20, now: t0) == .deliver)
        // Capture 10: 22 arrives before 21.
        #expect(s.receive(sequence: 22, now: t0) == .hold)
        s.hold(22)
        #expect(s.popReleased() == nil)
        #expect(s.receive(sequence: 21, now: t0) == .deliver)
        #expect(s.popReleased() == 22)
        #expect(s.popReleased() == nil)
        #expect(s.counters.reordered == 1)
        #expect(s.counters.lost == 0)
    }

    @Test func gapIsGivenUpAfterTheReorderTimeout() {
        var s = GRESequencer<Int>(configuration: .init(reorderTimeout: .milliseconds(50)), peerWindow: 64)
        _ = s.receive(sequence: 0, now: t0)
        #expect(s.receive(sequence: 2, now: t0) == .hold)
        s.hold(2)
        #expect(s.nextDeadline == min(t0 + .milliseconds(50), t0 + .milliseconds(100)))
        _ = s.timeout(now: t0 + .milliseconds(50))
        #expect(s.popReleased() == 2)
        #expect(s.counters.lost == 1)
        // The late packet is now too old.
        #expect(s.receive(sequence: 1, now: t0 + .milliseconds(60)) == .drop(.late))
    }

    @Test func duplicatesAreDropped() {
        var s = GRESequencer<Int>(peerWindow: 64)
        _ = s.receive(sequence: 5, now: t0)
        #expect(s.receive(sequence: 5, now: t0) == .drop(.duplicate))
        #expect(s.receive(sequence: 7, now: t0) == .hold)
        s.hold(7)
        #expect(s.receive(sequence: 7, now: t0) == .drop(.duplicate))
        #expect(s.counters.duplicates == 2)
    }

    @Test func sequenceNumbersWrapAt32Bits() {
        var s = GRESequencer<Int>(peerWindow: 64)
        #expect(s.receive(sequence: UInt32.max - 1, now: t0) == .deliver)
        #expect(s.receive(sequence: UInt32.max, now: t0) == .deliver)
        #expect(s.receive(sequence: 0, now: t0) == .deliver)
        #expect(s.receive(sequence: 2, now: t0) == .hold)
        s.hold(2)
        #expect(s.receive(sequence: 1, now: t0) == .deliver)
        #expect(s.popReleased() == 2)
        #expect(s.receive(sequence: UInt32.max, now: t0) == .drop(.late))
    }

    @Test func ackOnlyPacketGoesOutAfterTheAckTimeoutWhenNothingElseDoes() {
        var s = GRESequencer<Int>(configuration: .init(ackTimeout: .milliseconds(100)), peerWindow: 64)
        _ = s.receive(sequence: 0, now: t0)
        #expect(s.nextDeadline == t0 + .milliseconds(100))
        #expect(s.timeout(now: t0 + .milliseconds(99)) == [])
        #expect(s.timeout(now: t0 + .milliseconds(100)) == [.sendAcknowledgment(0)])
        // Nothing more is owed.
        #expect(s.nextDeadline == nil)
    }

    @Test func ackIsPiggyBackedOnData() {
        var s = GRESequencer<Int>(peerWindow: 64)
        _ = s.receive(sequence: 3, now: t0)
        let numbers = s.sequenceNextPacket(now: t0)
        #expect(numbers?.sequence == 0)
        #expect(numbers?.acknowledgment == 3)
        #expect(s.sequenceNextPacket(now: t0)?.acknowledgment == nil)
        #expect(s.timeout(now: t0 + .seconds(1)).isEmpty)
    }

    @Test func peerWindowIsRespectedAndOpensWithAcks() {
        var s = GRESequencer<Int>(peerWindow: 8)
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
        var s = GRESequencer<Int>(peerWindow: 0)
        for _ in 0..<10_000 { #expect(s.sequenceNextPacket(now: t0) != nil) }
    }

    @Test func ackTimeoutHalvesTheWindowAndBacksOff() {
        var s = GRESequencer<Int>(configuration: .init(minimumAckTimeout: .milliseconds(100)), peerWindow: 16)
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
        var s = GRESequencer<Int>(configuration: .init(minimumAckTimeout: .nanoseconds(1)), peerWindow: 64)
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
                switch s.receive(sequence: sequence, now: now) {
                case .deliver: delivered.append(sequence)
                case .hold: s.hold(sequence)
                case .drop: break
                }
                while let released = s.popReleased() { delivered.append(released) }
                #expect(s.heldCount <= 16)
                if let deadline = s.nextDeadline, deadline <= now {
                    _ = s.timeout(now: now)
                    while let released = s.popReleased() { delivered.append(released) }
                }
            }
            now = now + .seconds(1)
            _ = s.timeout(now: now)
            while let released = s.popReleased() { delivered.append(released) }
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

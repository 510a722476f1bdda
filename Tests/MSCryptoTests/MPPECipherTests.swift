import PropertyBased
import Testing

@testable import MSCrypto

/// One encrypted packet as it travels, with the plaintext it must decrypt to.
struct SentPacket {
    var index: Int
    var header: MPPEHeader
    var ciphertext: [UInt8]
    var plaintext: [UInt8]
}

/// Random payloads of 0…`maxLength` bytes from a seeded generator.
func randomPayload(_ generator: inout SeededGenerator, maxLength: Int = 80) -> [UInt8] {
    (0..<Int.random(in: 0...maxLength, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

let sampleKey128 = try! MPPEMasterKey(bytes: hex("8B7CDC149B993A1BA118CB153F56DCCB"), strength: .bits128)

func sampleKey(_ strength: MPPEKeyStrength) -> MPPEMasterKey {
    // Never throws: the sample key has 16 bytes, enough for every strength.
    (try? MPPEMasterKey(bytes: sampleKey128.bytes, strength: strength)) ?? sampleKey128
}

@Suite struct MPPECipherTests {
    @Test func statelessKeyChangesAreBoundedPerPacket() {
        // A packet 40 counts ahead with a bound of 16 is refused before any key change, and
        // the next one within the bound still decrypts (the state did not move).
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless)
        var packets: [(MPPEHeader, [UInt8])] = []
        for index in 0..<41 {
            var packet = [UInt8](repeating: UInt8(index), count: 20)
            packets.append((encryptor.encrypt(&packet), packet))
        }
        var far = packets[40].1
        let refused = far.withUnsafeMutableBytes {
            decryptor.decrypt(header: packets[40].0, ciphertext: $0, maximumKeyChanges: 16, accept: { _ in true })
        }
        #expect(refused == .failure(.tooFarAhead(coherencyCount: 40, distance: 41)))
        #expect(decryptor.lastKeyChanges == 0)
        var near = packets[10].1
        let accepted = near.withUnsafeMutableBytes {
            decryptor.decrypt(header: packets[10].0, ciphertext: $0, maximumKeyChanges: 16, accept: { _ in true })
        }
        #expect(accepted == .success(.inOrder(skipped: 10)))
        #expect(decryptor.lastKeyChanges == 11)
        #expect(near == [UInt8](repeating: 10, count: 20))
    }

    // MARK: In order

    @Test(arguments: MPPEKeyStrength.allCases, [MPPEMode.stateless, .stateful])
    func roundTripsInOrderPastCoherencyWrap(strength: MPPEKeyStrength, mode: MPPEMode) {
        var encryptor = MPPEEncryptor(key: sampleKey(strength), mode: mode)
        var decryptor = MPPEDecryptor(key: sampleKey(strength), mode: mode)
        var generator = SeededGenerator(seed: 7)
        var failures = 0
        for index in 0..<4400 {
            let plaintext = randomPayload(&generator, maxLength: 24)
            var packet = plaintext
            let header = encryptor.encrypt(&packet)
            // RFC 3078 §3.1: the count starts at 0 and wraps from 4095 to 0; D is always set.
            #expect(header.coherencyCount == UInt16(index % 4096))
            #expect(header.encrypted)
            switch mode {
            case .stateless:
                #expect(header.flushed)
            case .stateful:
                // FLUSHED only on flag packets (ccount & 0xFF == 0xFF) when no reset was requested.
                #expect(header.flushed == (index & 0xFF == 0xFF))
            }
            if plaintext.count >= 8 && packet == plaintext {
                failures += 1
            }
            let result = decryptor.decrypt(header: header, ciphertext: &packet)
            if result != .success(.inOrder(skipped: 0)) || packet != plaintext {
                failures += 1
            }
        }
        #expect(failures == 0)
        #expect(decryptor.coherencyCount == 4399 % 4096)
    }

    /// Stateless decryption equals the key sequence of RFC 3078 §7.1: key change n before packet n.
    @Test func statelessPacketNUsesNthKeyChange() throws {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var session = sampleKey128.initialSessionKey
        for _ in 0..<5 {
            session = try MPPEKeyDerivation.nextSessionKey(
                startKey: sampleKey128.bytes,
                sessionKey: session,
                strength: .bits128
            )
            var rc4 = try #require(RC4(key: session))
            var expected: [UInt8] = [0x00, 0x21, 0x45, 0, 0, 0x54]
            var packet = expected
            rc4.process(&expected)
            _ = encryptor.encrypt(&packet)
            #expect(packet == expected)
        }
    }

    // MARK: Stateless loss, reordering, duplicates

    /// Random loss, adjacent swaps and duplicates: every packet the decryptor reports as decrypted has exactly its
    /// plaintext; every refusal is justified; with a late-key cache every surviving packet is decrypted once.
    @Test func statelessSurvivesLossReorderingAndDuplicates() async {
        await propertyCheck(
            count: 24,
            input: Gen.uint64(),
            Gen.int(in: 0...30),
            Gen.int(in: 0...30),
            Gen.bool
        ) { seed, lossPercent, reorderPercent, withCache in
            var generator = SeededGenerator(seed: seed)
            var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
            var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless, lateKeyCacheSize: withCache ? 16 : 0)
            var sent: [SentPacket] = []
            for index in 0..<600 {
                let plaintext = randomPayload(&generator)
                var ciphertext = plaintext
                let header = encryptor.encrypt(&ciphertext)
                sent.append(SentPacket(index: index, header: header, ciphertext: ciphertext, plaintext: plaintext))
            }
            var wire = sent.filter { _ in Int.random(in: 0..<100, using: &generator) >= lossPercent }
            var position = 0
            while position + 1 < wire.count {
                if Int.random(in: 0..<100, using: &generator) < reorderPercent {
                    wire.swapAt(position, position + 1)
                    position += 2
                } else {
                    position += 1
                }
            }
            // Duplicate about 5 %.
            wire = wire.flatMap { packet in
                Int.random(in: 0..<20, using: &generator) == 0 ? [packet, packet] : [packet]
            }

            var newest = -1
            var decrypted = Set<Int>()
            for packet in wire {
                var buffer = packet.ciphertext
                switch decryptor.decrypt(header: packet.header, ciphertext: &buffer) {
                case .success(.inOrder(let skipped)):
                    #expect(buffer == packet.plaintext)
                    #expect(packet.index > newest)
                    #expect(skipped == packet.index - newest - 1)
                    newest = packet.index
                    #expect(decrypted.insert(packet.index).inserted)
                case .success(.late):
                    #expect(withCache)
                    #expect(buffer == packet.plaintext)
                    #expect(packet.index < newest)
                    #expect(decrypted.insert(packet.index).inserted)
                case .failure(.duplicate):
                    #expect(buffer == packet.ciphertext)
                    #expect(decrypted.contains(packet.index))
                case .failure(.late):
                    #expect(buffer == packet.ciphertext)
                    #expect(packet.index < newest)
                    // With a cache, only packets older than it may be refused as late (adjacent swaps are 1 behind).
                    #expect(!withCache)
                case .failure(let error):
                    Issue.record("unexpected \(error) for packet \(packet.index)")
                }
            }
            let unique = Set(wire.map(\.index))
            if withCache {
                #expect(decrypted == unique)
            }
        }
    }

    @Test func statelessLatePacketWithoutCacheIsRefusedAndLeavesStateIntact() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless)
        var packets: [(MPPEHeader, [UInt8])] = []
        for index in 0..<4 {
            var payload: [UInt8] = [0x21, UInt8(index)]
            let header = encryptor.encrypt(&payload)
            packets.append((header, payload))
        }
        var second = packets[2].1
        #expect(decryptor.decrypt(header: packets[2].0, ciphertext: &second) == .success(.inOrder(skipped: 2)))
        #expect(second == [0x21, 2])
        var first = packets[1].1
        #expect(
            decryptor.decrypt(header: packets[1].0, ciphertext: &first) == .failure(.late(coherencyCount: 1, behind: 1))
        )
        #expect(first == packets[1].1)
        var again = packets[2].1
        #expect(decryptor.decrypt(header: packets[2].0, ciphertext: &again) == .failure(.duplicate(coherencyCount: 2)))
        var third = packets[3].1
        #expect(decryptor.decrypt(header: packets[3].0, ciphertext: &third) == .success(.inOrder(skipped: 0)))
        #expect(third == [0x21, 3])
    }

    @Test func statelessLateKeyCacheDecryptsEachLatePacketOnce() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless, lateKeyCacheSize: 4)
        var packets: [(MPPEHeader, [UInt8])] = []
        for index in 0..<10 {
            var payload: [UInt8] = [0x21, UInt8(index)]
            let header = encryptor.encrypt(&payload)
            packets.append((header, payload))
        }
        func deliver(_ index: Int) -> (Result<MPPEDecryption, MPPEError>, [UInt8]) {
            var buffer = packets[index].1
            let result = decryptor.decrypt(header: packets[index].0, ciphertext: &buffer)
            return (result, buffer)
        }
        #expect(deliver(5) == (.success(.inOrder(skipped: 5)), [0x21, 5]))
        #expect(deliver(3) == (.success(.late), [0x21, 3]))
        #expect(deliver(3).0 == .failure(.duplicate(coherencyCount: 3)))
        #expect(deliver(4) == (.success(.late), [0x21, 4]))
        #expect(deliver(1).0 == .failure(.late(coherencyCount: 1, behind: 4)))
        #expect(deliver(2) == (.success(.late), [0x21, 2]))
        #expect(deliver(6) == (.success(.inOrder(skipped: 0)), [0x21, 6]))
        #expect(deliver(9) == (.success(.inOrder(skipped: 2)), [0x21, 9]))
        #expect(deliver(8) == (.success(.late), [0x21, 8]))
        #expect(deliver(5).0 == .failure(.late(coherencyCount: 5, behind: 4)))
    }

    /// The late-key cache keeps working across the coherency wrap (4095 → 0).
    @Test func statelessLateKeyCacheWorksAcrossWrap() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless, lateKeyCacheSize: 3)
        var held: (MPPEHeader, [UInt8], [UInt8])?
        for index in 0..<4100 {
            let plaintext: [UInt8] = [0x21, UInt8(truncatingIfNeeded: index), UInt8(truncatingIfNeeded: index >> 8)]
            var payload = plaintext
            let header = encryptor.encrypt(&payload)
            if index == 4095 {
                held = (header, payload, plaintext)
                continue
            }
            var buffer = payload
            let result = decryptor.decrypt(header: header, ciphertext: &buffer)
            #expect(result == .success(.inOrder(skipped: index == 4096 ? 1 : 0)))
            if index == 4097, let (header, ciphertext, plaintext) = held {
                var late = ciphertext
                #expect(decryptor.decrypt(header: header, ciphertext: &late) == .success(.late))
                #expect(late == plaintext)
            }
        }
    }

    @Test func statelessRejectsJumpBeyondMaximumThenRecovers() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless, maximumForwardJump: 10)
        var packets: [(MPPEHeader, [UInt8])] = []
        for index in 0..<30 {
            var payload: [UInt8] = [0x21, UInt8(index)]
            let header = encryptor.encrypt(&payload)
            packets.append((header, payload))
        }
        var far = packets[20].1
        #expect(
            decryptor.decrypt(header: packets[20].0, ciphertext: &far)
                == .failure(.tooFarAhead(coherencyCount: 20, distance: 21))
        )
        #expect(far == packets[20].1)
        var near = packets[9].1
        #expect(decryptor.decrypt(header: packets[9].0, ciphertext: &near) == .success(.inOrder(skipped: 9)))
        #expect(near == [0x21, 9])
        var later = packets[19].1
        #expect(decryptor.decrypt(header: packets[19].0, ciphertext: &later) == .success(.inOrder(skipped: 9)))
        #expect(later == [0x21, 19])
    }

    /// Default maximum: 2048 ahead is a jump, 2049 ahead reads as 2047 behind (the Linux kernel's split). The
    /// decryptor starts at 4095, so packet k is k + 1 ahead.
    @Test func statelessDefaultSplitsCoherencySpaceInHalves() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless)
        var last: (MPPEHeader, [UInt8]) = (MPPEHeader(rawValue: 0), [])
        for index in 0...2048 {
            var payload: [UInt8] = [0x21, UInt8(truncatingIfNeeded: index)]
            let header = encryptor.encrypt(&payload)
            if index == 2047 {
                var copy = payload
                var probe = decryptor
                #expect(probe.decrypt(header: header, ciphertext: &copy) == .success(.inOrder(skipped: 2047)))
                #expect(copy == [0x21, 0xFF])
            }
            last = (header, payload)
        }
        var buffer = last.1
        #expect(
            decryptor.decrypt(header: last.0, ciphertext: &buffer)
                == .failure(.late(coherencyCount: 2048, behind: 2047))
        )
    }

    @Test func decryptorRejectsUnencryptedAndUnflushedStatelessPackets() {
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless)
        var payload: [UInt8] = [1, 2, 3]
        #expect(
            decryptor.decrypt(
                header: MPPEHeader(flushed: true, encrypted: false, coherencyCount: 0),
                ciphertext: &payload
            ) == .failure(.notEncrypted)
        )
        #expect(
            decryptor.decrypt(header: MPPEHeader(flushed: false, coherencyCount: 0), ciphertext: &payload)
                == .failure(.flushedBitMissing)
        )
        #expect(payload == [1, 2, 3])
        #expect(decryptor.coherencyCount == 4095)
    }

    // MARK: Stateful loss and resynchronisation

    /// Stateful mode with random loss and a Reset-Request that reaches the sender after a random delay: the
    /// decryptor reports each loss once, discards until FLUSHED, then decrypts correctly again; nothing is ever
    /// decrypted wrongly. 5000 packets cross the 256-packet key changes and the 4096 wrap.
    @Test(arguments: [MPPEResetBehaviour.reinitialise, .changeKey])
    func statefulResynchronisesAfterLoss(behaviour: MPPEResetBehaviour) async {
        await propertyCheck(count: 6, input: Gen.uint64(), Gen.int(in: 1...8), Gen.int(in: 0...6)) {
            seed,
            lossPerMille,
            delay in
            var generator = SeededGenerator(seed: seed)
            var encryptor = MPPEEncryptor(key: sampleKey(.bits40), mode: .stateful, resetBehaviour: behaviour)
            var decryptor = MPPEDecryptor(key: sampleKey(.bits40), mode: .stateful, resetBehaviour: behaviour)
            var resetIn: Int?
            var losses = 0
            var resyncs = 0
            var awaiting = false
            var lastDecrypted = -1
            // Occasionally a burst of 300 lost packets, so that whole flag packets are missed.
            let burstAt = Int.random(in: 1000...3000, using: &generator)
            for index in 0..<5000 {
                if let remaining = resetIn {
                    if remaining == 0 {
                        encryptor.reset()
                        resetIn = nil
                    } else {
                        resetIn = remaining - 1
                    }
                }
                let plaintext = randomPayload(&generator, maxLength: 20)
                var buffer = plaintext
                let header = encryptor.encrypt(&buffer)
                // With `.changeKey` (the Linux scheme) a lost FLUSHED packet that answered a Reset-Request leaves
                // the receiver one key change behind for good: it cannot know how many resets the sender saw. That
                // is a flaw of the scheme itself (see MPPEResetBehaviour), so such packets are not dropped here.
                let protected = behaviour == .changeKey && header.flushed && !isFlagPacket(header.coherencyCount)
                let lost =
                    index < 4950 && !protected
                    && ((index >= burstAt && index < burstAt + 300)
                        || Int.random(in: 0..<1000, using: &generator) < lossPerMille)
                if lost { continue }
                let ciphertext = buffer
                switch decryptor.decrypt(header: header, ciphertext: &buffer) {
                case .success(.inOrder):
                    #expect(buffer == plaintext, "packet \(index)")
                    if awaiting {
                        #expect(header.flushed)
                        resyncs += 1
                        awaiting = false
                    }
                    lastDecrypted = index
                case .failure(.lossDetected):
                    #expect(buffer == ciphertext)
                    // While awaiting, the FLUSHED packet that answered the request was lost too: asked again.
                    if !awaiting {
                        losses += 1
                        awaiting = true
                    }
                    // The PPP layer sends a CCP Reset-Request; it arrives `delay` packets later.
                    resetIn = delay
                case .failure(.awaitingFlushedPacket):
                    #expect(awaiting)
                    #expect(!header.flushed)
                case let other:
                    Issue.record("unexpected \(other) at packet \(index)")
                }
            }
            #expect(lastDecrypted == 4999)
            #expect(losses == resyncs)
            #expect(losses > 0)
        }
    }

    /// A plaintext the caller refuses (a forged frame) moves nothing in stateless mode: a count
    /// 2000 ahead used to step the key 2000 times and leave every real packet "behind".
    @Test func statelessRefusedPlaintextLeavesKeyAndCountAsTheyWere() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateless, lateKeyCacheSize: 16)
        var first: [UInt8] = [0x21, 1, 2, 3]
        let firstHeader = encryptor.encrypt(&first)
        #expect(decryptor.decrypt(header: firstHeader, ciphertext: &first) == .success(.inOrder(skipped: 0)))
        var forged = [UInt8](repeating: 0x5A, count: 40)
        let forgedHeader = MPPEHeader(flushed: true, coherencyCount: (firstHeader.coherencyCount + 2000) & 0x0FFF)
        let refused = forged.withUnsafeMutableBytes {
            decryptor.decrypt(header: forgedHeader, ciphertext: $0, accept: { _ in false })
        }
        #expect(refused == .failure(.implausiblePlaintext(coherencyCount: forgedHeader.coherencyCount)))
        #expect(decryptor.coherencyCount == firstHeader.coherencyCount)
        var second: [UInt8] = [0x21, 4, 5, 6]
        let plain = second
        let secondHeader = encryptor.encrypt(&second)
        #expect(decryptor.decrypt(header: secondHeader, ciphertext: &second) == .success(.inOrder(skipped: 0)))
        #expect(second == plain)
    }

    /// In stateful mode a refused plaintext spends the RC4 state: the decryptor waits for a
    /// FLUSHED packet with its key and count as before, and resynchronises on it.
    @Test(arguments: [MPPEResetBehaviour.reinitialise, .changeKey])
    func statefulRefusedPlaintextWaitsForAFlushAndResynchronises(behaviour: MPPEResetBehaviour) {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateful, resetBehaviour: behaviour)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateful, resetBehaviour: behaviour)
        var first: [UInt8] = [0x21, 1, 2, 3]
        #expect(
            decryptor.decrypt(header: encryptor.encrypt(&first), ciphertext: &first) == .success(.inOrder(skipped: 0))
        )
        var forged = [UInt8](repeating: 0x5A, count: 40)
        let forgedHeader = MPPEHeader(flushed: false, coherencyCount: decryptor.coherencyCount &+ 1)
        let refused = forged.withUnsafeMutableBytes {
            decryptor.decrypt(header: forgedHeader, ciphertext: $0, accept: { _ in false })
        }
        #expect(refused == .failure(.implausiblePlaintext(coherencyCount: forgedHeader.coherencyCount)))
        #expect(decryptor.awaitingFlush)
        var second: [UInt8] = [0x21, 4]
        #expect(
            decryptor.decrypt(header: encryptor.encrypt(&second), ciphertext: &second)
                == .failure(.awaitingFlushedPacket)
        )
        encryptor.reset()  // the Reset-Request reached the sender
        var third: [UInt8] = [0x21, 7, 8, 9]
        let plain = third
        let header = encryptor.encrypt(&third)
        #expect(header.flushed)
        #expect(decryptor.decrypt(header: header, ciphertext: &third) == .success(.inOrder(skipped: 1)))
        #expect(third == plain)
    }

    /// The FLUSHED packet that answers a Reset-Request can be lost as well: the decryptor asks again
    /// after `discardsBeforeRepeatingReset` packets, instead of staying dark for good.
    @Test func statefulAsksAgainWhenTheFlushedAnswerIsLost() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateful)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateful)
        func next(_ deliver: Bool) -> Result<MPPEDecryption, MPPEError>? {
            var payload: [UInt8] = [0x21, 1, 2, 3]
            let header = encryptor.encrypt(&payload)
            return deliver ? decryptor.decrypt(header: header, ciphertext: &payload) : nil
        }
        #expect(next(true) == .success(.inOrder(skipped: 0)))
        _ = next(false)  // lost
        guard case .failure(.lossDetected)? = next(true) else {
            Issue.record("the loss was not detected")
            return
        }
        encryptor.reset()
        _ = next(false)  // the FLUSHED answer, lost too
        var results: [Result<MPPEDecryption, MPPEError>] = []
        for _ in 0..<MPPEDecryptor.discardsBeforeRepeatingReset { if let r = next(true) { results.append(r) } }
        #expect(results.dropLast().allSatisfy { $0 == .failure(.awaitingFlushedPacket) })
        guard case .failure(.lossDetected)? = results.last else {
            Issue.record("no second request: \(String(describing: results.last))")
            return
        }
        encryptor.reset()
        guard case .success(.inOrder)? = next(true) else {
            Issue.record("no resynchronisation")
            return
        }
    }

    /// Late and duplicate packets are refused in stateful mode without asking for a reset.
    @Test func statefulRefusesDuplicateWithoutLosingSync() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateful)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateful)
        var packets: [(MPPEHeader, [UInt8])] = []
        for index in 0..<3 {
            var payload: [UInt8] = [0x21, UInt8(index)]
            let header = encryptor.encrypt(&payload)
            packets.append((header, payload))
        }
        var buffer = packets[0].1
        #expect(decryptor.decrypt(header: packets[0].0, ciphertext: &buffer) == .success(.inOrder(skipped: 0)))
        buffer = packets[1].1
        #expect(decryptor.decrypt(header: packets[1].0, ciphertext: &buffer) == .success(.inOrder(skipped: 0)))
        buffer = packets[1].1
        #expect(decryptor.decrypt(header: packets[1].0, ciphertext: &buffer) == .failure(.duplicate(coherencyCount: 1)))
        buffer = packets[0].1
        #expect(
            decryptor.decrypt(header: packets[0].0, ciphertext: &buffer)
                == .failure(.late(coherencyCount: 0, behind: 1))
        )
        buffer = packets[2].1
        #expect(decryptor.decrypt(header: packets[2].0, ciphertext: &buffer) == .success(.inOrder(skipped: 0)))
        #expect(buffer == [0x21, 2])
    }

    /// RFC 3078 §8.2 step by step: loss → Reset-Request → discard → FLUSHED packet resynchronises.
    @Test func statefulLossRequestsResetAndFlushedPacketResynchronises() {
        var encryptor = MPPEEncryptor(key: sampleKey128, mode: .stateful)
        var decryptor = MPPEDecryptor(key: sampleKey128, mode: .stateful)
        func send(_ byte: UInt8) -> (MPPEHeader, [UInt8]) {
            var payload: [UInt8] = [0x21, byte]
            return (encryptor.encrypt(&payload), payload)
        }
        var (header, buffer) = send(0)
        #expect(decryptor.decrypt(header: header, ciphertext: &buffer) == .success(.inOrder(skipped: 0)))
        _ = send(1)  // lost
        (header, buffer) = send(2)
        #expect(
            decryptor.decrypt(header: header, ciphertext: &buffer) == .failure(.lossDetected(expected: 1, received: 2))
        )
        #expect(decryptor.awaitingFlush)
        (header, buffer) = send(3)
        #expect(decryptor.decrypt(header: header, ciphertext: &buffer) == .failure(.awaitingFlushedPacket))
        encryptor.reset()
        (header, buffer) = send(4)
        #expect(header.flushed)
        #expect(header.coherencyCount == 4)
        #expect(decryptor.decrypt(header: header, ciphertext: &buffer) == .success(.inOrder(skipped: 3)))
        #expect(buffer == [0x21, 4])
        #expect(!decryptor.awaitingFlush)
        (header, buffer) = send(5)
        #expect(!header.flushed)
        #expect(decryptor.decrypt(header: header, ciphertext: &buffer) == .success(.inOrder(skipped: 0)))
        #expect(buffer == [0x21, 5])
    }

    @Test func flagPacketCountingMatchesBruteForce() {
        for last in [0, 1, 0xFE, 0xFF, 0x100, 0xFFE, 0xFFF] as [UInt16] {
            for distance in [1, 2, 255, 256, 257, 511, 512, 1000, 4095] {
                let brute = (1...distance).filter { step in
                    isFlagPacket((last &+ UInt16(step)) & 0xFFF)
                }.count
                #expect(
                    MPPEDecryptor.flagPackets(after: last, distance: distance) == brute,
                    "last \(last) distance \(distance)"
                )
            }
        }
    }

    /// An encryptor's reset in stateless mode changes nothing (every packet is flushed anyway).
    @Test func statelessResetIsNoOp() {
        var a = MPPEEncryptor(key: sampleKey128, mode: .stateless)
        var b = a
        b.reset()
        var x: [UInt8] = [1, 2, 3]
        var y = x
        #expect(a.encrypt(&x) == b.encrypt(&y))
        #expect(x == y)
    }
}

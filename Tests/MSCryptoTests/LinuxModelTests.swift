import PropertyBased
import Testing

@testable import MSCrypto

/// A line-by-line model of the Linux kernel's drivers/net/ppp/ppp_mppe.c (mppe_compress, mppe_decompress,
/// mppe_rekey), written independently of `MPPEEncryptor`/`MPPEDecryptor` from the public key functions, to check
/// that we interoperate with pppd peers in both directions.
struct LinuxMPPEModel {
    let master: [UInt8]
    let strength: MPPEKeyStrength
    let stateful: Bool
    var session: [UInt8]
    var rc4: RC4
    var ccount: UInt16 = 4095  // "state->ccount = MPPE_CCOUNT_SPACE - 1"
    var discard = false
    var pendingFlush = false  // state->bits & MPPE_BIT_FLUSHED, set by mppe_comp_reset

    init(key: MPPEMasterKey, stateful: Bool) {
        self.master = key.bytes
        self.strength = key.strength
        self.stateful = stateful
        self.session = key.initialSessionKey  // mppe_rekey(state, 1)
        self.rc4 = RC4(key: self.session) ?? { preconditionFailure() }()
    }

    mutating func rekey() {
        self.session =
            (try? MPPEKeyDerivation.nextSessionKey(
                startKey: self.master,
                sessionKey: self.session,
                strength: self.strength
            )) ?? []
        self.rc4 = RC4(key: self.session) ?? { preconditionFailure() }()
    }

    mutating func compress(_ data: inout [UInt8]) -> MPPEHeader {
        self.ccount = (self.ccount + 1) % 4096
        var flushed = false
        if !self.stateful || self.ccount & 0xFF == 0xFF || self.pendingFlush {
            self.rekey()
            flushed = true
        }
        self.pendingFlush = false
        self.rc4.process(&data)
        return MPPEHeader(flushed: flushed, coherencyCount: self.ccount)
    }

    mutating func resetRequestReceived() {
        self.pendingFlush = true
    }

    /// nil for DECOMP_ERROR.
    mutating func decompress(_ header: MPPEHeader, _ data: inout [UInt8]) -> Bool {
        let ccount = header.coherencyCount
        let flushed = header.flushed
        if !self.stateful && !flushed { return false }
        if self.stateful && ccount & 0xFF == 0xFF && !flushed { return false }
        if !self.stateful {
            if (ccount &- self.ccount) % 4096 > 2048 { return false }
            while self.ccount != ccount {
                self.rekey()
                self.ccount = (self.ccount + 1) % 4096
            }
        } else {
            if !self.discard {
                self.ccount = (self.ccount + 1) % 4096
                if ccount != self.ccount {
                    self.discard = true
                    return false
                }
            } else {
                if !flushed { return false }
                while ccount & ~0xFF != self.ccount & ~0xFF {
                    self.rekey()
                    self.ccount = (self.ccount + 256) % 4096
                }
                self.discard = false
                self.ccount = ccount
            }
            if flushed {
                self.rekey()
            }
        }
        self.rc4.process(&data)
        return true
    }
}

@Suite struct LinuxModelTests {
    /// Our encryptor → Linux receiver and Linux sender → our decryptor, stateless, with random loss.
    @Test(arguments: [MPPEKeyStrength.bits40, .bits128])
    func statelessInteroperatesWithLinuxModel(strength: MPPEKeyStrength) async {
        await propertyCheck(count: 8, input: Gen.uint64(), Gen.int(in: 0...40)) { seed, lossPercent in
            var generator = SeededGenerator(seed: seed)
            var ours = MPPEEncryptor(key: sampleKey(strength), mode: .stateless)
            var linuxReceiver = LinuxMPPEModel(key: sampleKey(strength), stateful: false)
            var linuxSender = LinuxMPPEModel(key: sampleKey(strength), stateful: false)
            var ourReceiver = MPPEDecryptor(key: sampleKey(strength), mode: .stateless)
            for index in 0..<1200 {
                let plaintext = randomPayload(&generator, maxLength: 30)
                var a = plaintext
                var b = plaintext
                let headerA = ours.encrypt(&a)
                let headerB = linuxSender.compress(&b)
                #expect(headerA == headerB)
                #expect(a == b, "packet \(index): both senders produce the same bytes")
                guard Int.random(in: 0..<100, using: &generator) >= lossPercent else { continue }
                #expect(linuxReceiver.decompress(headerA, &a))
                #expect(a == plaintext)
                #expect(ourReceiver.decrypt(header: headerB, ciphertext: &b).isSuccess)
                #expect(b == plaintext)
            }
        }
    }

    /// Stateful with the Linux reset behaviour, losses and Reset-Requests, in both directions.
    @Test func statefulChangeKeyInteroperatesWithLinuxModel() async {
        await propertyCheck(count: 6, input: Gen.uint64(), Gen.int(in: 1...10), Gen.int(in: 0...4)) {
            seed,
            lossPerMille,
            delay in
            var generator = SeededGenerator(seed: seed)
            var ours = MPPEEncryptor(key: sampleKey128, mode: .stateful, resetBehaviour: .changeKey)
            var linuxReceiver = LinuxMPPEModel(key: sampleKey128, stateful: true)
            var linuxSender = LinuxMPPEModel(key: sampleKey128, stateful: true)
            var ourReceiver = MPPEDecryptor(key: sampleKey128, mode: .stateful, resetBehaviour: .changeKey)
            var resetOursIn: Int?
            var resetLinuxIn: Int?
            var decryptedByLinux = 0
            var decryptedByUs = 0
            let burstAt = Int.random(in: 500...2500, using: &generator)
            for index in 0..<4500 {
                if let n = resetOursIn {
                    if n == 0 {
                        ours.reset()
                        resetOursIn = nil
                    } else {
                        resetOursIn = n - 1
                    }
                }
                if let n = resetLinuxIn {
                    if n == 0 {
                        linuxSender.resetRequestReceived()
                        resetLinuxIn = nil
                    } else {
                        resetLinuxIn = n - 1
                    }
                }
                let plaintext = randomPayload(&generator, maxLength: 16)
                var a = plaintext
                var b = plaintext
                let headerA = ours.encrypt(&a)
                let headerB = linuxSender.compress(&b)
                // A lost FLUSHED answer to a Reset-Request desynchronises the Linux scheme for good (see
                // MPPEResetBehaviour.changeKey), so those are never dropped here.
                let protected = (headerA.flushed || headerB.flushed) && headerA.coherencyCount & 0xFF != 0xFF
                let lost =
                    index < 4400 && !protected
                    && ((index >= burstAt && index < burstAt + 270)
                        || Int.random(in: 0..<1000, using: &generator) < lossPerMille)
                if lost { continue }
                let wasDiscarding = linuxReceiver.discard
                if linuxReceiver.decompress(headerA, &a) {
                    #expect(a == plaintext, "Linux decrypted our packet \(index) wrongly")
                    decryptedByLinux += 1
                } else if !wasDiscarding && linuxReceiver.discard {
                    // DECOMP_ERROR on entering the discard state makes pppd send a CCP Reset-Request.
                    resetOursIn = delay
                }
                switch ourReceiver.decrypt(header: headerB, ciphertext: &b) {
                case .success:
                    #expect(b == plaintext, "we decrypted Linux packet \(index) wrongly")
                    decryptedByUs += 1
                case .failure(.lossDetected):
                    resetLinuxIn = delay
                case .failure(.awaitingFlushedPacket):
                    break
                case .failure(let error):
                    Issue.record("unexpected \(error)")
                }
            }
            #expect(decryptedByLinux > 3000)
            #expect(decryptedByUs > 3000)
            #expect(!ourReceiver.awaitingFlush)
            #expect(!linuxReceiver.discard)
        }
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

import MSCrypto
import Testing

@testable import PPTPCapture

/// The capture-side MPPE receiver on synthetic traffic: stateful mode (which no golden capture has), loss, and the
/// choice between the RFC 3078 and the Linux reset behaviour made from the plaintext.
@Suite struct MPPEStreamTests {
    /// PPP protocol 0x0021 and an IPv4 ICMP packet with a correct header checksum.
    static func plaintext(_ number: Int) -> [UInt8] {
        var header: [UInt8] = [
            0x45, 0, 0, 28 + 8, 0, UInt8(number & 0xFF), 0, 0, 64, 1, 0, 0, 203, 0, 113, 11, 203, 0, 113, 1,
        ]
        var sum: UInt32 = 0
        for index in stride(from: 0, to: 20, by: 2) { sum += UInt32(header[index]) << 8 | UInt32(header[index + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xFF)
        return [0x00, 0x21] + header + [8, 0, 0, 0, 0, 1, 0, UInt8(number & 0xFF)] + [UInt8](repeating: 0x50, count: 8)
    }

    static func key(_ strength: MPPEKeyStrength = .bits128) throws -> MPPEMasterKey {
        try MPPEMasterKey(bytes: (0..<16).map { UInt8($0 * 7 + 3) }, strength: strength)
    }

    @Test(arguments: [MPPEResetBehaviour.reinitialise, .changeKey])
    func statefulStreamFollowsTheSendersResetBehaviour(behaviour: MPPEResetBehaviour) throws {
        var sender = MPPEEncryptor(key: try Self.key(), mode: .stateful, resetBehaviour: behaviour)
        // The receiver tries the other behaviour first, so it must notice and switch.
        var stream = MPPEStream(
            key: try Self.key(),
            mode: .stateful,
            preferLinuxResets: behaviour == .reinitialise,
            lateKeyCacheSize: 0
        )
        var decrypted = 0
        var refused = 0
        for number in 0..<600 {
            var packet = Self.plaintext(number)
            let header = sender.encrypt(&packet)
            // Lose packets 100 and 400; the receiver's Reset-Request reaches the sender right after.
            if number == 100 || number == 400 { continue }
            switch stream.decrypt(header: header, ciphertext: packet) {
            case .decrypted(let plaintext, _, _):
                #expect(plaintext == Self.plaintext(number), "packet \(number)")
                decrypted += 1
            case .failed(let error):
                refused += 1
                if case .lossDetected = error { sender.reset() }
            }
        }
        // One packet refused per loss (the one that revealed it); everything else decrypts, key changes included.
        #expect(refused == 2)
        #expect(decrypted == 600 - 2 - 2)
    }

    @Test(arguments: [MPPEKeyStrength.bits40, .bits56, .bits128])
    func statelessStreamDecryptsLatePacketsFromItsCache(strength: MPPEKeyStrength) throws {
        var sender = MPPEEncryptor(key: try Self.key(strength), mode: .stateless)
        var stream = MPPEStream(
            key: try Self.key(strength),
            mode: .stateless,
            preferLinuxResets: true,
            lateKeyCacheSize: 16
        )
        var packets: [(MPPEHeader, [UInt8])] = []
        for number in 0..<50 {
            var packet = Self.plaintext(number)
            let header = sender.encrypt(&packet)
            packets.append((header, packet))
        }
        packets.swapAt(20, 25)
        var late = 0
        for (header, ciphertext) in packets {
            guard
                case .decrypted(let plaintext, let wasLate, _) = stream.decrypt(header: header, ciphertext: ciphertext)
            else {
                Issue.record("packet \(header.coherencyCount) not decrypted")
                continue
            }
            #expect(MPPEStream.looksLikePPP(plaintext))
            if wasLate { late += 1 }
        }
        #expect(late == 5)
    }

    @Test func garbageIsNotMistakenForPPP() {
        #expect(!MPPEStream.looksLikePPP([0x00, 0x21, 0x45, 0, 0, 20]))
        #expect(!MPPEStream.looksLikePPP([0x02]))
        #expect(MPPEStream.looksLikePPP(Self.plaintext(1)))
    }
}

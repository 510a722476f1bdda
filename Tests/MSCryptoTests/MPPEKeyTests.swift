import Testing

@testable import MSCrypto

@Suite struct MPPEKeyTests {
    typealias S = RFC2759Sample
    static let v1Challenge = hex("10 2d b5 df 08 5d 30 41")
    static let masterKey = hex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
    static let testMessage = Array("test message".utf8)

    // MARK: RFC 3079 §2.5, MS-CHAPv1

    /// RFC 3079 §2.5.1: LM hash of "clientPass", GetKey, then the 40-bit reduction.
    @Test func msCHAPv1Key40MatchesRFC3079Section2_5_1() throws {
        let lm = try #require(LMPasswordHash(password: S.password))
        #expect(lm.bytes == hex("76 a1 52 93 60 96 d7 83 0e 23 90 22 74 04 af d2"))
        let start = Array(lm.bytes.prefix(8))
        #expect(
            try MPPEKeyDerivation.newKeyFromSHA(startKey: start, sessionKey: start) == hex("d8 08 01 53 8c ec 4a 08")
        )
        let keys = try #require(MPPEKeys.msCHAPv1(lmPasswordHash: lm, strength: .bits40))
        #expect(keys.send == keys.receive)
        #expect(keys.send.initialSessionKey == hex("d1 26 9e 53 8c ec 4a 08"))
    }

    /// RFC 3079 §2.5.2: the same with the 56-bit reduction.
    @Test func msCHAPv1Key56MatchesRFC3079Section2_5_2() throws {
        let lm = try #require(LMPasswordHash(password: S.password))
        let keys = try #require(MPPEKeys.msCHAPv1(lmPasswordHash: lm, strength: .bits56))
        #expect(keys.send.initialSessionKey == hex("d1 08 01 53 8c ec 4a 08"))
        #expect(MPPEKeys.msCHAPv1(lmPasswordHash: lm, strength: .bits128) == nil)
    }

    /// RFC 3079 §2.5.3: NT hash, hash hash, GetStartKey and GetKey. The RFC prints the initial key twice, as
    /// "… ac ca d1 …" in step 3 and "… ac c1 d1 …" in step 4; the second is right (step 5 follows from it).
    @Test func msCHAPv1Key128MatchesRFC3079Section2_5_3() throws {
        let hash = NTPasswordHash(password: S.password)
        #expect(hash.bytes == hex("44 eb ba 8d 53 12 b8 d6 11 47 44 11 f5 69 89 ae"))
        #expect(hash.hashed.bytes == hex("41 c0 0c 58 4b d2 d9 1c 40 17 a2 a1 2f a5 9f 3f"))
        let initial = try MPPEKeyDerivation.startKey(challenge: Self.v1Challenge, passwordHashHash: hash.hashed.bytes)
        #expect(initial == hex("a8 94 78 50 cf c0 ac c1 d1 78 9f b6 2d dc dd b0"))
        let current = try MPPEKeyDerivation.newKeyFromSHA(startKey: initial, sessionKey: initial)
        #expect(current == hex("59 d1 59 bc 09 f7 6f 1d a2 a8 6a 28 ff ec 0b 1e"))
        let keys = try MPPEKeys.msCHAPv1(passwordHash: hash, challenge: Self.v1Challenge, strength: .bits128)
        #expect(keys.send.bytes == initial)
        #expect(keys.receive == keys.send)
        #expect(keys.send.initialSessionKey == current)
    }

    /// pppd's MS-CHAPv1 40-bit key: the first 8 bytes of the NT-hash start key, reduced.
    @Test func msCHAPv1NTKey40UsesFirstEightBytesOfStartKey() throws {
        let keys = try MPPEKeys.msCHAPv1(
            passwordHash: NTPasswordHash(password: S.password),
            challenge: Self.v1Challenge,
            strength: .bits40
        )
        let start = hex("a8 94 78 50 cf c0 ac c1")
        #expect(keys.send.bytes == start)
        var expected = try MPPEKeyDerivation.newKeyFromSHA(startKey: start, sessionKey: start)
        expected.replaceSubrange(0..<3, with: [0xD1, 0x26, 0x9E])
        #expect(keys.send.initialSessionKey == expected)
    }

    // MARK: RFC 3079 §3.5, MS-CHAPv2

    @Test func masterKeyMatchesRFC3079Section3_5() throws {
        let master = try MPPEKeyDerivation.masterKey(passwordHashHash: S.passwordHashHash, ntResponse: S.ntResponse)
        #expect(master == Self.masterKey)
    }

    /// RFC 3079 §3.5.1: SendStartKey40, SendSessionKey40 and the sample encrypted message. The RFC's "send" key
    /// is the server's (§3.1 calls GetAsymmetricStartKey with IsServer TRUE), which is the client's receive key.
    @Test func msCHAPv2Key40MatchesRFC3079Section3_5_1() throws {
        try self.checkSample(
            strength: .bits40,
            startKey: "8B 7C DC 14 9B 99 3A 1B",
            sessionKey: "D1 26 9E C4 9F A6 2E 3E",
            encrypted: "92 91 37 91 7E 58 03 D6 68 D7 58 98"
        )
    }

    /// RFC 3079 §3.5.2. Its sample message has two typos: the label "rc4(SendSessionKey40, …)" means the 56-bit
    /// key, and the last byte is B8, not 58 (OpenSSL's RC4 agrees with ours).
    @Test func msCHAPv2Key56MatchesRFC3079Section3_5_2() throws {
        try self.checkSample(
            strength: .bits56,
            startKey: "8B 7C DC 14 9B 99 3A 1B",
            sessionKey: "D1 5C 00 C4 9F A6 2E 3E",
            encrypted: "3F 10 68 33 FA 44 8D A8 42 BC 57 B8"
        )
    }

    /// RFC 3079 §3.5.3.
    @Test func msCHAPv2Key128MatchesRFC3079Section3_5_3() throws {
        try self.checkSample(
            strength: .bits128,
            startKey: "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB",
            sessionKey: "40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4",
            encrypted: "81 84 83 17 DF 68 84 62 72 FB 5A BE"
        )
    }

    private func checkSample(strength: MPPEKeyStrength, startKey: String, sessionKey: String, encrypted: String) throws
    {
        let start = try MPPEKeyDerivation.asymmetricStartKey(
            masterKey: Self.masterKey,
            keyLength: strength.keyLength,
            isSend: true,
            isServer: true
        )
        #expect(start == hex(startKey))
        let hash = NTPasswordHash(password: S.password)
        let server = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: S.ntResponse,
            strength: strength,
            isServer: true
        )
        let client = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: S.ntResponse,
            strength: strength,
            isServer: false
        )
        #expect(server.send.bytes == hex(startKey))
        #expect(client.receive == server.send)
        #expect(client.send == server.receive)
        #expect(client.send != client.receive)
        #expect(server.send.initialSessionKey == hex(sessionKey))

        // "Sample Encrypted Message": RC4 under the initial session key, i.e. the first stateful packet.
        var rc4 = try #require(RC4(key: hex(sessionKey)))
        var message = Self.testMessage
        rc4.process(&message)
        #expect(message == hex(encrypted))
        var encryptor = MPPEEncryptor(key: server.send, mode: .stateful)
        var packet = Self.testMessage
        let header = encryptor.encrypt(&packet)
        #expect(packet == hex(encrypted))
        #expect(header == MPPEHeader(flushed: false, encrypted: true, coherencyCount: 0))
    }

    // MARK: RFC 3078 §7.3 key change

    /// GetNewKeyFromSHA, then RC4 of the interim key under itself, then the reduction.
    @Test(arguments: MPPEKeyStrength.allCases)
    func keyChangeFollowsRFC3078Section7_3(strength: MPPEKeyStrength) throws {
        let length = strength.keyLength
        let start = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 17 &+ 3) }
        let session = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 1) }
        let interim = try MPPEKeyDerivation.newKeyFromSHA(startKey: start, sessionKey: session)
        var expected = interim
        var rc4 = try #require(RC4(key: interim))
        rc4.process(&expected)
        switch strength {
        case .bits40: expected.replaceSubrange(0..<3, with: [0xD1, 0x26, 0x9E])
        case .bits56: expected[0] = 0xD1
        case .bits128: break
        }
        #expect(
            try MPPEKeyDerivation.nextSessionKey(startKey: start, sessionKey: session, strength: strength) == expected
        )
    }

    @Test func keyDerivationRejectsWrongLengths() {
        #expect(throws: MSCryptoError.invalidLength(.ntResponse, expected: 24, actual: 16)) {
            try MPPEKeyDerivation.masterKey(
                passwordHashHash: S.passwordHashHash,
                ntResponse: [UInt8](repeating: 0, count: 16)
            )
        }
        #expect(throws: MSCryptoError.invalidLength(.startKey, expected: 16, actual: 12)) {
            try MPPEKeyDerivation.asymmetricStartKey(
                masterKey: Self.masterKey,
                keyLength: 12,
                isSend: true,
                isServer: false
            )
        }
        #expect(throws: MSCryptoError.invalidLength(.masterKey, expected: 16, actual: 8)) {
            try MPPEMasterKey(bytes: [UInt8](repeating: 0, count: 8), strength: .bits128)
        }
        #expect(throws: MSCryptoError.invalidLength(.challenge, expected: 8, actual: 16)) {
            try MPPEKeys.msCHAPv1(
                passwordHash: NTPasswordHash(password: ""),
                challenge: [UInt8](repeating: 0, count: 16),
                strength: .bits128
            )
        }
    }

    /// RFC 3079 §4.1: a longer key (e.g. a 16-byte RADIUS key) is truncated for 40/56-bit.
    @Test func masterKeyTruncatesLongerMaterial() throws {
        let key = try MPPEMasterKey(bytes: Self.masterKey, strength: .bits40)
        #expect(key.bytes == Array(Self.masterKey.prefix(8)))
        #expect(key == (try MPPEMasterKey(bytes: Array(Self.masterKey.prefix(8)), strength: .bits40)))
        #expect(key != (try MPPEMasterKey(bytes: Array(Self.masterKey.prefix(8)), strength: .bits56)))
    }
}

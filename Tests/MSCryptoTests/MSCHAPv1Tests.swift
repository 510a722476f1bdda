import Testing

@testable import MSCrypto

@Suite struct MSCHAPv1Tests {
    static let challenge = hex("10 2D B5 DF 08 5D 30 41")

    /// RFC 2433 §B.2 (and the MS-CHAP memo §10): password "MyPw".
    @Test func ntPasswordHashMatchesRFC2433AppendixB() {
        #expect(NTPasswordHash(password: "MyPw").bytes == hex("FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC"))
        #expect(
            NTPasswordHash(utf16LittleEndianPassword: hex("4D 00 79 00 50 00 77 00"))
                == NTPasswordHash(password: "MyPw")
        )
    }

    /// RFC 2433 §B.2: the 24-byte NtChallengeResponse of "MyPw" to challenge 10 2D B5 DF 08 5D 30 41.
    @Test func ntChallengeResponseMatchesRFC2433AppendixB() throws {
        let response = try MSCHAPv1.ntChallengeResponse(
            challenge: Self.challenge,
            passwordHash: NTPasswordHash(password: "MyPw")
        )
        #expect(response == hex("4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61"))
    }

    /// MS-CHAP memo (revision 1.3) §10: LmPasswordHash and LmChallengeResponse of "MyPw".
    @Test func lmResponseMatchesMSCHAPMemoSection10() throws {
        let hash = try #require(LMPasswordHash(password: "MyPw"))
        #expect(hash.bytes == hex("75 BA 30 19 8E 6D 19 75 AA D3 B4 35 B5 14 04 EE"))
        let response = try MSCHAPv1.lmChallengeResponse(challenge: Self.challenge, passwordHash: hash)
        #expect(response == hex("91 88 1D 01 52 AB 0C 33 C5 24 13 5E C2 4A 95 EE 64 E2 3C DC 2D 33 34 7D"))
    }

    @Test func lmPasswordHashRejectsLongAndNonASCIIPasswords() {
        #expect(LMPasswordHash(password: "fifteen-chars!!") == nil)
        #expect(LMPasswordHash(password: "fourteen-chars") != nil)
        #expect(LMPasswordHash(password: "pässword") == nil)
    }

    /// RFC 2433 §3: 24 zero bytes (no LM response), the NT response, flag 1.
    @Test func responseValueHasZeroLMResponseAndNTFlag() throws {
        let value = try MSCHAPv1.responseValue(
            challenge: Self.challenge,
            passwordHash: NTPasswordHash(password: "MyPw")
        )
        #expect(value.count == MSCHAPv1.responseValueLength)
        #expect(value[0..<24].allSatisfy { $0 == 0 })
        #expect(Array(value[24..<48]) == hex("4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61"))
        #expect(value[48] == 1)
    }

    @Test func verifyNTResponseAcceptsRightAndRejectsWrongResponses() throws {
        let hash = NTPasswordHash(password: "MyPw")
        let good = try MSCHAPv1.ntChallengeResponse(challenge: Self.challenge, passwordHash: hash)
        #expect(MSCHAPv1.verifyNTResponse(good, challenge: Self.challenge, passwordHash: hash))
        var bad = good
        bad[23] ^= 1
        #expect(!MSCHAPv1.verifyNTResponse(bad, challenge: Self.challenge, passwordHash: hash))
        #expect(!MSCHAPv1.verifyNTResponse(Array(good.prefix(23)), challenge: Self.challenge, passwordHash: hash))
        #expect(!MSCHAPv1.verifyNTResponse(good, challenge: Array(Self.challenge.prefix(7)), passwordHash: hash))
        #expect(
            !MSCHAPv1.verifyNTResponse(good, challenge: Self.challenge, passwordHash: NTPasswordHash(password: "MyPW"))
        )
    }

    @Test func ntChallengeResponseRejectsWrongChallengeLength() {
        #expect(throws: MSCryptoError.invalidLength(.challenge, expected: 8, actual: 16)) {
            try MSCHAPv1.ntChallengeResponse(
                challenge: [UInt8](repeating: 0, count: 16),
                passwordHash: NTPasswordHash(password: "x")
            )
        }
    }
}

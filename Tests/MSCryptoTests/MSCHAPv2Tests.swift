import Testing

@testable import MSCrypto

/// RFC 2759 §9.2 "Hash Example": user "User", password "clientPass".
enum RFC2759Sample {
    static let userName = "User"
    static let password = "clientPass"
    static let authenticatorChallenge = hex("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
    static let peerChallenge = hex("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
    static let challenge = hex("D0 2E 43 86 BC E9 12 26")
    static let passwordHash = hex("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE")
    static let passwordHashHash = hex("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F")
    static let ntResponse = hex("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")
    static let authenticatorResponse = "S=407A5589115FD0D6209F510FE9C04566932CDA56"
}

@Suite struct MSCHAPv2Tests {
    typealias S = RFC2759Sample

    @Test func passwordHashesMatchRFC2759Section9_2() {
        // "0-to-256-unicode-char Password: 63 00 6C 00 69 00 …"
        #expect(
            NTPasswordHash.utf16LittleEndian(S.password)
                == hex("63 00 6C 00 69 00 65 00 6E 00 74 00 50 00 61 00 73 00 73 00")
        )
        let hash = NTPasswordHash(password: S.password)
        #expect(hash.bytes == S.passwordHash)
        #expect(hash.hashed.bytes == S.passwordHashHash)
    }

    @Test func challengeHashMatchesRFC2759Section9_2() throws {
        let challenge = try MSCHAPv2.challengeHash(
            peerChallenge: S.peerChallenge,
            authenticatorChallenge: S.authenticatorChallenge,
            userName: S.userName
        )
        #expect(challenge == S.challenge)
    }

    /// RFC 2759 §8.2: only the account name is hashed, without a "DOMAIN\" prefix.
    @Test func challengeHashIgnoresDomainPrefix() throws {
        let withDomain = try MSCHAPv2.challengeHash(
            peerChallenge: S.peerChallenge,
            authenticatorChallenge: S.authenticatorChallenge,
            userName: "BIGCO\\User"
        )
        #expect(withDomain == S.challenge)
    }

    @Test func ntResponseMatchesRFC2759Section9_2() throws {
        let response = try MSCHAPv2.generateNTResponse(
            authenticatorChallenge: S.authenticatorChallenge,
            peerChallenge: S.peerChallenge,
            userName: S.userName,
            passwordHash: NTPasswordHash(password: S.password)
        )
        #expect(response == S.ntResponse)
    }

    @Test func authenticatorResponseMatchesRFC2759Section9_2() throws {
        let response = try MSCHAPv2.generateAuthenticatorResponse(
            passwordHash: NTPasswordHash(password: S.password),
            ntResponse: S.ntResponse,
            peerChallenge: S.peerChallenge,
            authenticatorChallenge: S.authenticatorChallenge,
            userName: S.userName
        )
        #expect(response.string == S.authenticatorResponse)
        #expect(response.digest == hex("407A5589115FD0D6209F510FE9C04566932CDA56"))
        #expect(response.bytes == Array(S.authenticatorResponse.utf8))
        #expect(response.description == S.authenticatorResponse)
    }

    @Test func checkAuthenticatorResponseAcceptsRFCSampleAndRejectsTampering() {
        func check(_ text: String) -> Bool {
            MSCHAPv2.checkAuthenticatorResponse(
                Array(text.utf8),
                passwordHash: NTPasswordHash(password: S.password),
                ntResponse: S.ntResponse,
                peerChallenge: S.peerChallenge,
                authenticatorChallenge: S.authenticatorChallenge,
                userName: Array(S.userName.utf8)
            )
        }
        #expect(check(S.authenticatorResponse))
        #expect(check(S.authenticatorResponse.lowercased().replacingOccurrences("s=", "S=")))
        #expect(!check("S=407A5589115FD0D6209F510FE9C04566932CDA57"))
        #expect(!check("S=407A5589115FD0D6209F510FE9C04566932CDA5"))
        #expect(!check("X=407A5589115FD0D6209F510FE9C04566932CDA56"))
        #expect(!check("S=407A5589115FD0D6209F510FE9C04566932CDAZZ"))
        #expect(!check(""))
    }

    @Test func verifyNTResponseAcceptsRFCSampleAndRejectsOthers() {
        let hash = NTPasswordHash(password: S.password)
        func verify(_ response: [UInt8], user: String = S.userName, hash: NTPasswordHash = hash) -> Bool {
            MSCHAPv2.verifyNTResponse(
                response,
                authenticatorChallenge: S.authenticatorChallenge,
                peerChallenge: S.peerChallenge,
                userName: Array(user.utf8),
                passwordHash: hash
            )
        }
        #expect(verify(S.ntResponse))
        var flipped = S.ntResponse
        flipped[0] ^= 0x80
        #expect(!verify(flipped))
        #expect(!verify(S.ntResponse, user: "user"))
        #expect(!verify(S.ntResponse, hash: NTPasswordHash(password: "clientpass")))
        #expect(!verify(Array(S.ntResponse.dropLast())))
    }

    @Test func generateRejectsWrongLengths() {
        let hash = NTPasswordHash(password: S.password)
        #expect(throws: MSCryptoError.invalidLength(.peerChallenge, expected: 16, actual: 8)) {
            try MSCHAPv2.generateNTResponse(
                authenticatorChallenge: S.authenticatorChallenge,
                peerChallenge: Array(S.peerChallenge.prefix(8)),
                userName: S.userName,
                passwordHash: hash
            )
        }
        #expect(throws: MSCryptoError.invalidLength(.authenticatorChallenge, expected: 16, actual: 0)) {
            try MSCHAPv2.challengeHash(peerChallenge: S.peerChallenge, authenticatorChallenge: [], userName: "u")
        }
        #expect(throws: MSCryptoError.invalidLength(.ntResponse, expected: 24, actual: 23)) {
            try MSCHAPv2.generateAuthenticatorResponse(
                passwordHash: hash,
                ntResponse: Array(S.ntResponse.dropLast()),
                peerChallenge: S.peerChallenge,
                authenticatorChallenge: S.authenticatorChallenge,
                userName: S.userName
            )
        }
        #expect(throws: MSCryptoError.invalidLength(.passwordHash, expected: 16, actual: 15)) {
            try NTPasswordHash(bytes: [UInt8](repeating: 0, count: 15))
        }
    }

    @Test func authenticatorResponseParsingRejectsMalformedText() throws {
        #expect(MSCHAPv2AuthenticatorResponse(parsing: Array(S.authenticatorResponse.utf8)) != nil)
        #expect(MSCHAPv2AuthenticatorResponse(parsing: Array("S=".utf8)) == nil)
        #expect(MSCHAPv2AuthenticatorResponse(parsing: Array((S.authenticatorResponse + " M=ok").utf8)) == nil)
        #expect(throws: MSCryptoError.invalidLength(.authenticatorResponse, expected: 20, actual: 19)) {
            try MSCHAPv2AuthenticatorResponse(digest: [UInt8](repeating: 0, count: 19))
        }
    }
}

extension String {
    /// Replaces every occurrence of `target` (Foundation-free).
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

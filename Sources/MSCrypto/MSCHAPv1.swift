/// MS-CHAP version 1, RFC 2433: the peer's response to an 8-byte challenge and the authenticator's check of it.
///
/// Only the Windows NT response is produced: the LAN Manager response is weak and RFC 2433 §3 lets a peer leave
/// it zero and set the "use NT response" flag, which is what pppd and modern Windows do.
public enum MSCHAPv1 {
    /// Length of the authenticator's challenge (RFC 2433 §2).
    public static let challengeLength = 8
    /// Length of the LM and NT challenge responses (RFC 2433 §3).
    public static let responseLength = 24
    /// Length of the Response packet's Value field (RFC 2433 §3): LM response, NT response, flags.
    public static let responseValueLength = 49

    /// NtChallengeResponse (RFC 2433 §A.5): the 24-byte NT response to `challenge`.
    public static func ntChallengeResponse(
        challenge: [UInt8],
        passwordHash: NTPasswordHash
    ) throws(MSCryptoError) -> [UInt8] {
        try requireLength(challenge, challengeLength, .challenge)
        return challengeResponse(challenge: challenge, passwordHash: passwordHash.value)
    }

    /// LmChallengeResponse (RFC 2433 §A.1): the 24-byte LAN Manager response to `challenge`. Not sent by
    /// `responseValue`; provided for authenticators talking to very old peers and for the RFC 2433 example.
    public static func lmChallengeResponse(
        challenge: [UInt8],
        passwordHash: LMPasswordHash
    ) throws(MSCryptoError) -> [UInt8] {
        try requireLength(challenge, challengeLength, .challenge)
        return challengeResponse(challenge: challenge, passwordHash: passwordHash.value)
    }

    /// The 49-byte Value of an MS-CHAPv1 Response packet (RFC 2433 §3): 24 zero bytes in place of the LM
    /// response, the NT response, and the flag 1 ("use the Windows NT response").
    public static func responseValue(
        challenge: [UInt8],
        passwordHash: NTPasswordHash
    ) throws(MSCryptoError) -> [UInt8] {
        let nt = try ntChallengeResponse(challenge: challenge, passwordHash: passwordHash)
        return [UInt8](repeating: 0, count: responseLength) + nt + [1]
    }

    /// Authenticator side: whether `ntResponse` is the right NT response to `challenge` for `passwordHash`.
    /// The comparison runs in constant time; wrong lengths give false.
    public static func verifyNTResponse(
        _ ntResponse: [UInt8],
        challenge: [UInt8],
        passwordHash: NTPasswordHash
    ) -> Bool {
        guard ntResponse.count == responseLength,
            let expected = try? ntChallengeResponse(challenge: challenge, passwordHash: passwordHash)
        else { return false }
        return constantTimeEqual(expected, ntResponse)
    }
}

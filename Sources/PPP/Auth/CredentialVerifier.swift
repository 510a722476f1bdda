import MSCrypto

/// A secret the server holds for a user: the clear password (needed for PAP and CHAP-MD5), or
/// only its NT hash (enough for MS-CHAPv1/v2 and PAP, so no clear password has to be stored).
public enum StoredSecret: Sendable, Equatable, CustomStringConvertible {
    case password(String)
    case ntHash(NTPasswordHash)

    public var ntHash: NTPasswordHash {
        switch self {
        case .password(let password): return NTPasswordHash(password: password)
        case .ntHash(let hash): return hash
        }
    }

    public var description: String {
        switch self {
        case .password: return "password(<hidden>)"
        case .ntHash: return "nt-hash(<hidden>)"
        }
    }
}

/// Checks an `AuthenticationRequest` against a stored secret, as a local secrets file does
/// (RADIUS does the same remotely). All comparisons are in constant time.
public enum CredentialVerifier {
    /// The outcome: the verdict to give the authenticator, and for an accepted password change
    /// the new password, for the store to update.
    public struct Outcome: Sendable {
        public var verdict: AuthenticationVerdict
        public var newPassword: String?
    }

    public static func verify(_ request: AuthenticationRequest, secret: StoredSecret) -> Outcome {
        let denied = Outcome(verdict: .reject(.authenticationFailure, message: "Access denied"))
        switch request.proof {
        case .pap(let password):
            // A PAP password can be checked against an NT hash too.
            let given = String(decoding: password, as: UTF8.self)
            let matches: Bool
            switch secret {
            case .password(let stored): matches = constantTimeEqual(Array(stored.utf8), password)
            case .ntHash(let hash): matches = NTPasswordHash(password: given) == hash
            }
            return matches ? Outcome(verdict: .accept(message: "Login ok")) : denied
        case .chapMD5(let identifier, let challenge, let response):
            guard case .password(let stored) = secret else {
                // CHAP-MD5 needs the clear secret (RFC 1994 §2.2); an NT hash cannot answer it.
                return Outcome(verdict: .reject(.authenticationFailure, message: "CHAP-MD5 needs a clear-text secret"))
            }
            let ok = CHAPMD5.verify(response, identifier: identifier, secret: Array(stored.utf8), challenge: challenge)
            return ok ? Outcome(verdict: .accept(message: "Welcome")) : denied
        case .msCHAPv1(let challenge, let ntResponse):
            let hash = secret.ntHash
            guard MSCHAPv1.verifyNTResponse(ntResponse, challenge: challenge, passwordHash: hash) else { return denied }
            let keys = try? MPPEKeyMaterial.msCHAPv1(passwordHash: hash, challenge: challenge)
            return Outcome(verdict: .accept(keys: keys, message: "Welcome"))
        case .msCHAPv2(let authenticatorChallenge, let peerChallenge, let ntResponse):
            let hash = secret.ntHash
            let user = Array(request.userName.utf8)
            guard
                MSCHAPv2.verifyNTResponse(
                    ntResponse,
                    authenticatorChallenge: authenticatorChallenge,
                    peerChallenge: peerChallenge,
                    userName: user,
                    passwordHash: hash
                )
            else { return denied }
            return accepted(
                hash: hash,
                ntResponse: ntResponse,
                peerChallenge: peerChallenge,
                challenge: authenticatorChallenge,
                user: user
            )
        case .msCHAPv2ChangePassword(
            let authenticatorChallenge,
            let peerChallenge,
            let ntResponse,
            let encryptedPassword,
            let encryptedHash
        ):
            // RFC 2759 §8.11: decrypt the new password with the old hash, check the old hash
            // encrypted with the new one, then the response computed with the new password.
            let oldHash = secret.ntHash
            guard let newPassword = try? MSCHAPv2.decryptNewPassword(encryptedPassword, oldPasswordHash: oldHash) else {
                return Outcome(verdict: .reject(.changingPassword, message: "Password change failed"))
            }
            let newHash = NTPasswordHash(password: newPassword)
            let user = Array(request.userName.utf8)
            guard
                MSCHAPv2.verifyOldNTPasswordHashEncryptedWithNewNTPasswordHash(
                    encryptedHash,
                    newPasswordHash: newHash,
                    oldPasswordHash: oldHash
                ),
                MSCHAPv2.verifyNTResponse(
                    ntResponse,
                    authenticatorChallenge: authenticatorChallenge,
                    peerChallenge: peerChallenge,
                    userName: user,
                    passwordHash: newHash
                )
            else { return Outcome(verdict: .reject(.changingPassword, message: "Password change failed")) }
            var outcome = accepted(
                hash: newHash,
                ntResponse: ntResponse,
                peerChallenge: peerChallenge,
                challenge: authenticatorChallenge,
                user: user
            )
            outcome.newPassword = newPassword
            return outcome
        }
    }

    private static func accepted(
        hash: NTPasswordHash,
        ntResponse: [UInt8],
        peerChallenge: [UInt8],
        challenge: [UInt8],
        user: [UInt8]
    ) -> Outcome {
        guard
            let response = try? MSCHAPv2.generateAuthenticatorResponse(
                passwordHash: hash,
                ntResponse: ntResponse,
                peerChallenge: peerChallenge,
                authenticatorChallenge: challenge,
                userName: user
            )
        else { return Outcome(verdict: .reject(.authenticationFailure, message: "Access denied")) }
        let keys = try? MPPEKeyMaterial.msCHAPv2(passwordHash: hash, ntResponse: ntResponse, isServer: true)
        return Outcome(verdict: .accept(authenticatorResponse: response.digest, keys: keys, message: "Access granted"))
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

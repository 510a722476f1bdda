import MSCrypto

/// What the authenticator asks the layer above to decide: who the peer says it is, and the proof
/// it sent. A secrets file answers at once, RADIUS later; the engine waits without blocking.
public struct AuthenticationRequest: Hashable, Sendable, CustomStringConvertible {
    /// The name the peer sent (PAP Peer-ID, CHAP Name), as received.
    public var userName: String
    public var proof: Proof

    /// The method-specific proof. Secrets inside are never printed.
    public enum Proof: Hashable, Sendable {
        /// PAP: the password in clear (RFC 1334).
        case pap(password: [UInt8])
        /// CHAP-MD5 (RFC 1994): the identifier and challenge we sent, the peer's response.
        case chapMD5(identifier: UInt8, challenge: [UInt8], response: [UInt8])
        /// MS-CHAPv1 (RFC 2433): our 8-octet challenge and the 24-octet NT-Response.
        case msCHAPv1(challenge: [UInt8], ntResponse: [UInt8])
        /// MS-CHAPv2 (RFC 2759): our 16-octet challenge, the peer's challenge, the NT-Response.
        case msCHAPv2(authenticatorChallenge: [UInt8], peerChallenge: [UInt8], ntResponse: [UInt8])
        /// MS-CHAPv2 Change-Password (RFC 2759 §7): the encrypted new password and old hash.
        case msCHAPv2ChangePassword(
            authenticatorChallenge: [UInt8],
            peerChallenge: [UInt8],
            ntResponse: [UInt8],
            encryptedPassword: [UInt8],
            encryptedHash: [UInt8]
        )
    }

    public init(userName: String, proof: Proof) {
        self.userName = userName
        self.proof = proof
    }

    public var method: AuthenticationMethod {
        switch proof {
        case .pap: return .pap
        case .chapMD5: return .chapMD5
        case .msCHAPv1: return .msCHAPv1
        case .msCHAPv2, .msCHAPv2ChangePassword: return .msCHAPv2
        }
    }

    /// The account part of `userName`: Windows sends `DOMAIN\user` (RFC 2759 §4 hashes only the
    /// user part into the challenge).
    public var accountName: String {
        guard let slash = userName.lastIndex(of: "\\") else { return userName }
        return String(userName[userName.index(after: slash)...])
    }

    public var description: String { "\(method) request for user \"\(userName)\"" }
}

/// The two 16-octet MPPE start keys of a session from the authenticator's point of view
/// (RFC 3079 §3.3 GetAsymmetricStartKey, or RADIUS MS-MPPE-Send/Recv-Key of RFC 2548 §2.4), or
/// the single key of MS-CHAPv1 (RFC 3079 §2). The strength is chosen later by CCP, which uses the
/// leading octets (RFC 3079 §4.1). Never printed.
public struct MPPEKeyMaterial: Hashable, Sendable, CustomStringConvertible {
    /// The key for what this end sends.
    public var sendKey: [UInt8]
    /// The key for what this end receives.
    public var receiveKey: [UInt8]

    public init(sendKey: [UInt8], receiveKey: [UInt8]) {
        self.sendKey = sendKey
        self.receiveKey = receiveKey
    }

    /// The keys for one strength in each direction.
    public func keys(
        send: MPPEKeyStrength,
        receive: MPPEKeyStrength
    ) throws(MSCryptoError) -> (send: MPPEMasterKey, receive: MPPEMasterKey) {
        (try MPPEMasterKey(bytes: sendKey, strength: send), try MPPEMasterKey(bytes: receiveKey, strength: receive))
    }

    /// MS-CHAPv2 keys (RFC 3079 §3): `isServer` is true on the authenticator.
    public static func msCHAPv2(
        passwordHash: NTPasswordHash,
        ntResponse: [UInt8],
        isServer: Bool
    ) throws(MSCryptoError) -> Self {
        let master = try MPPEKeyDerivation.masterKey(
            passwordHashHash: passwordHash.hashed.bytes,
            ntResponse: ntResponse
        )
        let send = try MPPEKeyDerivation.asymmetricStartKey(
            masterKey: master,
            keyLength: 16,
            isSend: true,
            isServer: isServer
        )
        let receive = try MPPEKeyDerivation.asymmetricStartKey(
            masterKey: master,
            keyLength: 16,
            isSend: false,
            isServer: isServer
        )
        return Self(sendKey: send, receiveKey: receive)
    }

    /// MS-CHAPv1 keys from the NT hash (RFC 3079 §2.3, used by pppd for every strength): the
    /// same key both ways.
    public static func msCHAPv1(passwordHash: NTPasswordHash, challenge: [UInt8]) throws(MSCryptoError) -> Self {
        let key = try MPPEKeyDerivation.startKey(challenge: challenge, passwordHashHash: passwordHash.hashed.bytes)
        return Self(sendKey: key, receiveKey: key)
    }

    /// The same material seen from the other end.
    public var swapped: Self { Self(sendKey: receiveKey, receiveKey: sendKey) }

    public var description: String { "MPPEKeyMaterial(<redacted>)" }
}

/// The answer to an `AuthenticationRequest`.
public enum AuthenticationVerdict: Hashable, Sendable {
    /// The peer is who it says. MS-CHAPv2 needs the authenticator response for the Success
    /// message; MS-CHAP methods bring MPPE keys.
    case accept(authenticatorResponse: [UInt8]? = nil, keys: MPPEKeyMaterial? = nil, message: String = "Access granted")
    /// Refused, with the MS-CHAP error code to report (691 for a bad password).
    case reject(MSCHAPErrorCode, message: String = "Access denied")
}

/// Why authentication failed, on either side.
public enum AuthenticationFailure: Hashable, Sendable, CustomStringConvertible {
    /// The authenticator refused us (or we refused the peer): MS-CHAP code and message, or the
    /// PAP/CHAP failure text with code 691.
    case rejected(MSCHAPErrorCode, message: String)
    /// The server's MS-CHAPv2 authenticator response (S=) did not verify: it does not know our
    /// password, so it is not the server we think (RFC 2759 §5 mutual authentication).
    case serverNotAuthenticated
    /// No answer from the peer within the retries.
    case timeout
    /// The peer sent something unusable (a response of the wrong layout, a Success without S=).
    case protocolViolation
    /// Authentication was needed but we have no credentials for it.
    case noCredentials

    public var description: String {
        switch self {
        case .rejected(let code, let message):
            return message.isEmpty
                ? "authentication failed (E=\(code))" : "authentication failed (E=\(code)): \(message)"
        case .serverNotAuthenticated: return "the server failed mutual authentication (wrong S= response)"
        case .timeout: return "no answer during authentication"
        case .protocolViolation: return "the peer broke the authentication protocol"
        case .noCredentials: return "authentication requested but no credentials are configured"
        }
    }
}

/// Our own credentials, for authenticating to the peer. The password is never printed.
public struct ClientCredentials: Hashable, Sendable, CustomStringConvertible {
    public var userName: String
    /// The clear password; needed for PAP and CHAP-MD5 (and for MS-CHAP password change).
    public var password: String?
    /// The NT hash, enough for MS-CHAPv1/v2 without keeping the password.
    public var passwordHash: NTPasswordHash
    /// A new password to set when the server answers E=648 (password expired).
    public var newPassword: String?

    public init(userName: String, password: String, newPassword: String? = nil) {
        self.userName = userName
        self.password = password
        self.passwordHash = NTPasswordHash(password: password)
        self.newPassword = newPassword
    }

    public init(userName: String, passwordHash: NTPasswordHash) {
        self.userName = userName
        self.password = nil
        self.passwordHash = passwordHash
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.userName == rhs.userName && lhs.password == rhs.password && lhs.passwordHash == rhs.passwordHash
            && lhs.newPassword == rhs.newPassword
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(userName) }

    public var description: String { "credentials for \"\(userName)\"" }
}

extension AuthenticationRequest.Proof: CustomStringConvertible {
    public var description: String {
        switch self {
        case .pap: return "PAP(<password hidden>)"
        case .chapMD5: return "CHAP-MD5(<response>)"
        case .msCHAPv1: return "MS-CHAPv1(<response>)"
        case .msCHAPv2: return "MS-CHAPv2(<response>)"
        case .msCHAPv2ChangePassword: return "MS-CHAPv2 Change-Password(<encrypted>)"
        }
    }
}

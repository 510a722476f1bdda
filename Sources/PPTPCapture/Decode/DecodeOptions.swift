import MSCrypto
import PPP

/// What `CaptureAnalyzer` is asked to do beyond decoding: the credentials for MPPE decryption, whether secrets may
/// be shown, and the limits of its reorder buffers.
public struct DecodeOptions: Sendable {
    /// The password, NT hash or secrets file that opens the MS-CHAP exchanges of the capture, if any.
    public var credentials: DecodeCredentials?
    /// Show PAP passwords and passwords found in a word list instead of masking them.
    public var showSecrets: Bool
    /// Keep every inner IP packet in `DecodeReport.innerPackets` (for `--write-inner`).
    public var collectInnerPackets: Bool
    /// Keep the timeline (every packet). Off, only the reports are built.
    public var buildTimeline: Bool
    /// GRE packets held per direction while waiting for a missing sequence number (RFC 2637 §4.3: the receiver
    /// may hold out-of-order packets; pptpd does).
    public var reorderWindow: Int
    /// How long, in capture time, a gap in the GRE sequence is waited for before it is given up.
    public var reorderTimeout: Duration
    /// Stateless MPPE keys kept for packets that arrive after a newer one.
    public var lateKeyCacheSize: Int
    /// The path of the capture, for the report.
    public var path: String?

    /// Creates options; the defaults decode without credentials and mask secrets.
    public init(
        credentials: DecodeCredentials? = nil,
        showSecrets: Bool = false,
        collectInnerPackets: Bool = true,
        buildTimeline: Bool = true,
        reorderWindow: Int = 64,
        reorderTimeout: Duration = .seconds(1),
        lateKeyCacheSize: Int = 64,
        path: String? = nil
    ) {
        self.credentials = credentials
        self.showSecrets = showSecrets
        self.collectInnerPackets = collectInnerPackets
        self.buildTimeline = buildTimeline
        self.reorderWindow = max(0, reorderWindow)
        self.reorderTimeout = reorderTimeout
        self.lateKeyCacheSize = max(0, lateKeyCacheSize)
        self.path = path
    }
}

/// Credentials for the authentication exchanges of a capture.
public enum DecodeCredentials: Sendable {
    /// One password, tried for every user.
    case password(String)
    /// One NT password hash (MD4 of the UTF-16LE password, RFC 2759 §8.3), tried for every MS-CHAP user. It cannot
    /// check PAP or CHAP-MD5, which need the password itself.
    case ntHash(NTPasswordHash)
    /// A `chap-secrets` file: the secret of each user.
    case secrets(ChapSecrets)

    /// "password", "NT hash", "secrets file".
    public var sourceName: String {
        switch self {
        case .password: "password"
        case .ntHash: "NT hash"
        case .secrets: "secrets file"
        }
    }

    /// The secret for `user` when `server` authenticates, or nil when there is none.
    func secret(user: String, server: String) -> CandidateSecret? {
        switch self {
        case .password(let password):
            return CandidateSecret(password: Array(password.utf8), passwordText: password)
        case .ntHash(let hash):
            return CandidateSecret(hash: hash)
        case .secrets(let secrets):
            // pppd's choice of entry for this server; a capture may name the server differently from the
            // file, so then any server's entry for the user.
            guard let entry = secrets.entry(forUser: user, server: server) ?? secrets.entry(forUser: user, server: nil)
            else { return nil }
            switch entry.secret {
            case .password(let password): return CandidateSecret(password: Array(password.utf8), passwordText: password)
            case .ntHash(let hash): return CandidateSecret(hash: hash)
            }
        }
    }
}

/// A secret to check an exchange with: the password (for PAP and CHAP-MD5, and hashed for MS-CHAP) or only its
/// NT hash.
struct CandidateSecret: Sendable {
    /// The NT password hash.
    var hash: NTPasswordHash
    /// The password octets, when known.
    var password: [UInt8]?

    init(password: [UInt8], passwordText: String) {
        self.hash = NTPasswordHash(password: passwordText)
        self.password = password
    }

    init(hash: NTPasswordHash) {
        self.hash = hash
        self.password = nil
    }
}

/// An authentication exchange seen in a capture: what a word-list search, or a check of a given password, needs.
public struct AuthenticationExchange: Hashable, Sendable {
    /// The values of the exchange.
    public enum Values: Hashable, Sendable {
        /// MS-CHAPv2 (RFC 2759 §4): the Authenticator-Challenge, the Response's Peer-Challenge and NT-Response,
        /// and the user name (the Response's Name).
        case msCHAPv2(authenticatorChallenge: [UInt8], peerChallenge: [UInt8], ntResponse: [UInt8], userName: [UInt8])
        /// MS-CHAPv1 (RFC 2433 §3): the 8-octet challenge and the NT-Response.
        case msCHAPv1(challenge: [UInt8], ntResponse: [UInt8])
        /// CHAP with MD5 (RFC 1994 §4.1): Identifier, Challenge and Response.
        case chapMD5(identifier: UInt8, challenge: [UInt8], response: [UInt8])
        /// PAP (RFC 1334 §2.2.1): the password in clear.
        case pap(password: [UInt8])
    }

    /// The call, numbered from 1.
    public var call: Int
    /// The user name the peer sent.
    public var user: String
    /// The authenticator's name (CHAP), empty for PAP.
    public var authenticatorName: String
    /// The method.
    public var method: AuthenticationMethod
    /// The values.
    public var values: Values

    /// Whether `secret` is the secret of this exchange: the NT-Response (or CHAP response, or PAP password) it
    /// gives is the one captured. Returns nil when the secret cannot tell (an NT hash for PAP or CHAP-MD5).
    func verify(_ secret: CandidateSecret) -> Bool? {
        switch values {
        case .msCHAPv2(let authenticatorChallenge, let peerChallenge, let ntResponse, let userName):
            return MSCHAPv2.verifyNTResponse(
                ntResponse,
                authenticatorChallenge: authenticatorChallenge,
                peerChallenge: peerChallenge,
                userName: userName,
                passwordHash: secret.hash
            )
        case .msCHAPv1(let challenge, let ntResponse):
            return MSCHAPv1.verifyNTResponse(ntResponse, challenge: challenge, passwordHash: secret.hash)
        case .chapMD5(let identifier, let challenge, let response):
            guard let password = secret.password else { return nil }
            return CHAPMD5.verify(response, identifier: identifier, secret: password, challenge: challenge)
        case .pap(let captured):
            guard let password = secret.password else { return nil }
            return password == captured
        }
    }
}

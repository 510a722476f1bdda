import Crypto

/// The MPPE key strengths CCP can negotiate (RFC 3078 §2: the L, M and S bits), and their key handling.
public enum MPPEKeyStrength: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// 40-bit: an 8-byte key whose first three bytes are replaced by 0xD1 0x26 0x9E.
    case bits40
    /// 56-bit: an 8-byte key whose first byte is replaced by 0xD1.
    case bits56
    /// 128-bit: a 16-byte key.
    case bits128

    /// The session key length in bytes (RFC 3079 §3: 8 for 40- and 56-bit, 16 for 128-bit).
    public var keyLength: Int {
        switch self {
        case .bits40, .bits56: 8
        case .bits128: 16
        }
    }

    /// Reduces the effective strength of a session key (RFC 3078 §7.3; RFC 3079 §2.1, §2.2, §3.1, §3.2).
    func reduce(_ key: inout Bytes16) {
        key.withUnsafeMutableBytes { bytes in
            switch self {
            case .bits40:
                bytes[0] = 0xD1
                bytes[1] = 0x26
                bytes[2] = 0x9E
            case .bits56:
                bytes[0] = 0xD1
            case .bits128:
                break
            }
        }
    }

    public var description: String {
        switch self {
        case .bits40: "40-bit"
        case .bits56: "56-bit"
        case .bits128: "128-bit"
        }
    }
}

/// The master key of one MPPE direction: MasterSendKey or MasterReceiveKey of RFC 3079 §3, the key Get_Key starts
/// from in RFC 3079 §2, or an MS-MPPE-Send-Key / MS-MPPE-Recv-Key from RADIUS (RFC 2548 §2.4.2–§2.4.3).
///
/// It is never used to encrypt directly: the session keys are derived from it (RFC 3078 §7.3). Secret, so
/// `description` hides it and `==` runs in constant time.
public struct MPPEMasterKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The strength the key is for; it fixes the key length.
    public let strength: MPPEKeyStrength
    let value: Bytes16

    /// Wraps key material. It must have at least `strength.keyLength` bytes; only that many leading bytes are used,
    /// as RFC 3079 §4.1 prescribes for longer keys (a 16-byte RADIUS key used for 40-bit MPPE, for example).
    public init(bytes: [UInt8], strength: MPPEKeyStrength) throws(MSCryptoError) {
        guard bytes.count >= strength.keyLength else {
            throw .invalidLength(.masterKey, expected: strength.keyLength, actual: bytes.count)
        }
        self.strength = strength
        self.value = Bytes16(bytes.prefix(strength.keyLength))
    }

    init(value: Bytes16, strength: MPPEKeyStrength) {
        var truncated = Bytes16()
        value.withUnsafeBytes { source in
            truncated = Bytes16(UnsafeRawBufferPointer(rebasing: source.prefix(strength.keyLength)))
        }
        self.strength = strength
        self.value = truncated
    }

    /// The `strength.keyLength` key bytes. Secret: do not log them.
    public var bytes: [UInt8] { self.value.prefix(self.strength.keyLength) }

    /// The first session key (RFC 3079 §3.1–§3.3, §2.1–§2.3): GetNewKeyFromSHA(master, master), reduced to the key
    /// strength. Unlike later key changes it is not passed through RC4.
    public var initialSessionKey: [UInt8] {
        MPPEKeySchedule(masterKey: self).sessionKeyBytes
    }

    /// Constant-time comparison (the strengths must match too).
    public static func == (lhs: MPPEMasterKey, rhs: MPPEMasterKey) -> Bool {
        let sameKey = lhs.value.withUnsafeBytes { l in rhs.value.withUnsafeBytes { r in constantTimeEqual(l, r) } }
        return sameKey && lhs.strength == rhs.strength
    }

    public var description: String { "MPPEMasterKey(\(self.strength), \(redacted))" }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// The two master keys of an MPPE session, named from this end's point of view.
public struct MPPEKeys: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Key for the packets this end sends (its `MPPEEncryptor`).
    public var send: MPPEMasterKey
    /// Key for the packets this end receives (its `MPPEDecryptor`).
    public var receive: MPPEMasterKey

    public init(send: MPPEMasterKey, receive: MPPEMasterKey) {
        self.send = send
        self.receive = receive
    }

    /// MPPE keys from MS-CHAPv2 (RFC 3079 §3.1–§3.3): GetMasterKey from the password hash hash and the
    /// NT-Response, then GetAsymmetricStartKey for each direction. `isServer` is true on the authenticator.
    /// The peer's send key is the authenticator's receive key and vice versa.
    public static func msCHAPv2(
        passwordHash: NTPasswordHash,
        ntResponse: [UInt8],
        strength: MPPEKeyStrength,
        isServer: Bool
    ) throws(MSCryptoError) -> MPPEKeys {
        let master = try MPPEKeyDerivation.masterKey(
            passwordHashHash: passwordHash.hashed.bytes,
            ntResponse: ntResponse
        )
        let send = try MPPEKeyDerivation.asymmetricStartKey(
            masterKey: master,
            keyLength: strength.keyLength,
            isSend: true,
            isServer: isServer
        )
        let receive = try MPPEKeyDerivation.asymmetricStartKey(
            masterKey: master,
            keyLength: strength.keyLength,
            isSend: false,
            isServer: isServer
        )
        return MPPEKeys(
            send: try MPPEMasterKey(bytes: send, strength: strength),
            receive: try MPPEMasterKey(bytes: receive, strength: strength)
        )
    }

    /// MPPE keys from MS-CHAPv1 and the NT password hash (RFC 3079 §2.3): Get_Start_Key from the authenticator's
    /// 8-byte challenge (of the first authentication) and the password hash hash; both directions use the same key.
    ///
    /// RFC 3079 specifies this for 128-bit only and the LM hash for 40/56-bit (`msCHAPv1(lmPasswordHash:…)`), but
    /// pppd and the Linux kernel use this NT-hash key for every strength, taking its first 8 bytes for 40/56-bit.
    /// Use this variant to interoperate with pppd; the caller picks.
    public static func msCHAPv1(
        passwordHash: NTPasswordHash,
        challenge: [UInt8],
        strength: MPPEKeyStrength
    ) throws(MSCryptoError) -> MPPEKeys {
        let start = try MPPEKeyDerivation.startKey(challenge: challenge, passwordHashHash: passwordHash.hashed.bytes)
        let key = try MPPEMasterKey(bytes: start, strength: strength)
        return MPPEKeys(send: key, receive: key)
    }

    /// MPPE keys from MS-CHAPv1 and the LAN Manager hash (RFC 3079 §2.1–§2.2): the first 8 bytes of the LM hash,
    /// for both directions. Nil for 128-bit, which RFC 3079 §2.3 derives from the NT hash.
    public static func msCHAPv1(lmPasswordHash: LMPasswordHash, strength: MPPEKeyStrength) -> MPPEKeys? {
        guard strength != .bits128 else { return nil }
        let key = MPPEMasterKey(value: lmPasswordHash.value, strength: strength)
        return MPPEKeys(send: key, receive: key)
    }

    public var description: String { "MPPEKeys(\(self.send.strength), \(redacted))" }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// The key derivation functions of RFC 3079 and RFC 3078 §7.3, on plain byte arrays.
///
/// `MPPEKeys` composes them for the usual cases; they are public for tests against the RFC samples and for
/// tools that need the intermediate values.
public enum MPPEKeyDerivation {
    /// GetMasterKey (RFC 3079 §3.4): the first 16 bytes of SHA-1(PasswordHashHash ‖ NTResponse ‖ Magic1).
    public static func masterKey(passwordHashHash: [UInt8], ntResponse: [UInt8]) throws(MSCryptoError) -> [UInt8] {
        try requireLength(passwordHashHash, 16, .passwordHash)
        try requireLength(ntResponse, MSCHAPv2.ntResponseLength, .ntResponse)
        var sha = Insecure.SHA1()
        sha.update(data: passwordHashHash)
        sha.update(data: ntResponse)
        sha.update(data: masterKeyMagic)
        return Array(sha.finalize().prefix(16))
    }

    /// GetAsymmetricStartKey (RFC 3079 §3.4): SHA-1(MasterKey ‖ SHSpad1 ‖ s ‖ SHSpad2) truncated to `keyLength`
    /// (8 or 16), where s is Magic2 for the client's send key and the server's receive key, Magic3 otherwise.
    public static func asymmetricStartKey(
        masterKey: [UInt8],
        keyLength: Int,
        isSend: Bool,
        isServer: Bool
    ) throws(MSCryptoError) -> [UInt8] {
        try requireLength(masterKey, 16, .masterKey)
        guard keyLength == 8 || keyLength == 16 else {
            throw .invalidLength(.startKey, expected: 16, actual: keyLength)
        }
        // RFC 3079 §3.4: "On the client side, this is the send key; on the server side, it is the receive key."
        let clientSendKey = isSend != isServer
        var sha = Insecure.SHA1()
        sha.update(data: masterKey)
        sha.update(data: shaPad1)
        sha.update(data: clientSendKey ? magic2 : magic3)
        sha.update(data: shaPad2)
        return Array(sha.finalize().prefix(keyLength))
    }

    /// Get_Start_Key (RFC 3079 §2.4), MS-CHAPv1: the first 16 bytes of
    /// SHA-1(NtPasswordHashHash ‖ NtPasswordHashHash ‖ Challenge), with the authenticator's 8-byte challenge.
    public static func startKey(challenge: [UInt8], passwordHashHash: [UInt8]) throws(MSCryptoError) -> [UInt8] {
        try requireLength(challenge, MSCHAPv1.challengeLength, .challenge)
        try requireLength(passwordHashHash, 16, .passwordHash)
        var sha = Insecure.SHA1()
        sha.update(data: passwordHashHash)
        sha.update(data: passwordHashHash)
        sha.update(data: challenge)
        return Array(sha.finalize().prefix(16))
    }

    /// GetNewKeyFromSHA (RFC 3078 §7.3), also Get_Key of RFC 3079 §2.4: the first `keyLength` bytes of
    /// SHA-1(StartKey ‖ SHApad1 ‖ SessionKey ‖ SHApad2). Both keys must have the same length, 8 or 16.
    public static func newKeyFromSHA(startKey: [UInt8], sessionKey: [UInt8]) throws(MSCryptoError) -> [UInt8] {
        guard startKey.count == 8 || startKey.count == 16 else {
            throw .invalidLength(.startKey, expected: 16, actual: startKey.count)
        }
        try requireLength(sessionKey, startKey.count, .startKey)
        var sha = Insecure.SHA1()
        sha.update(data: startKey)
        sha.update(data: shaPad1)
        sha.update(data: sessionKey)
        sha.update(data: shaPad2)
        return Array(sha.finalize().prefix(startKey.count))
    }

    /// One complete MPPE key change (RFC 3078 §7.3): GetNewKeyFromSHA, then the interim key encrypted with RC4
    /// keyed by itself, then the strength reduction. `startKey` is the direction's master key.
    public static func nextSessionKey(
        startKey: [UInt8],
        sessionKey: [UInt8],
        strength: MPPEKeyStrength
    ) throws(MSCryptoError) -> [UInt8] {
        try requireLength(startKey, strength.keyLength, .startKey)
        try requireLength(sessionKey, strength.keyLength, .startKey)
        var schedule = MPPEKeySchedule(masterKey: try MPPEMasterKey(bytes: startKey, strength: strength))
        schedule.setSessionKey(Bytes16(sessionKey))
        schedule.changeKey()
        return schedule.sessionKeyBytes
    }

    /// RFC 3079 §3.4 Magic1: "This is the MPPE Master Key".
    static let masterKeyMagic: [UInt8] = Array("This is the MPPE Master Key".utf8)
    /// RFC 3079 §3.4 Magic2 (84 bytes).
    static let magic2: [UInt8] = Array(
        "On the client side, this is the send key; on the server side, it is the receive key.".utf8
    )
    /// RFC 3079 §3.4 Magic3 (84 bytes).
    static let magic3: [UInt8] = Array(
        "On the client side, this is the receive key; on the server side, it is the send key.".utf8
    )
    /// RFC 3078 §7.3 / RFC 3079 §3.4 SHApad1: 40 zero bytes.
    static let shaPad1 = [UInt8](repeating: 0x00, count: 40)
    /// RFC 3078 §7.3 / RFC 3079 §3.4 SHApad2: 40 bytes of 0xF2.
    static let shaPad2 = [UInt8](repeating: 0xF2, count: 40)
}

/// The session key state of one MPPE direction: the master key and the current session key, and the key change
/// of RFC 3078 §7.3 done without allocating.
struct MPPEKeySchedule: Sendable {
    let strength: MPPEKeyStrength
    let keyLength: Int
    /// SHA-1 input of GetNewKeyFromSHA, kept ready: StartKey ‖ SHApad1 ‖ SessionKey ‖ SHApad2 (2·keyLength + 80
    /// bytes, at most 112). Only the session key in the middle changes between key changes.
    private var shaInput: (Bytes16, Bytes16, Bytes16, Bytes16, Bytes16, Bytes16, Bytes16)
    /// The current session key (the first `keyLength` bytes).
    private(set) var sessionKey: Bytes16

    /// Starts from `masterKey` with the initial session key of RFC 3079 §3.1–§3.3: GetNewKeyFromSHA(master,
    /// master), reduced to the strength, without the RC4 step of later key changes.
    init(masterKey: MPPEMasterKey) {
        self.strength = masterKey.strength
        self.keyLength = masterKey.strength.keyLength
        self.sessionKey = masterKey.value
        let empty = Bytes16()
        self.shaInput = (empty, empty, empty, empty, empty, empty, empty)
        let keyLength = self.keyLength
        let master = masterKey.value
        Swift.withUnsafeMutableBytes(of: &self.shaInput) { input in
            master.withUnsafeBytes { key in
                UnsafeMutableRawBufferPointer(rebasing: input[0..<keyLength])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: key[0..<keyLength]))
            }
            // SHApad1 is zero already; SHApad2 follows the session key.
            for index in (2 * keyLength + 40)..<(2 * keyLength + 80) {
                input[index] = 0xF2
            }
        }
        self.sessionKey = self.interimKey()
        self.strength.reduce(&self.sessionKey)
    }

    /// The session key bytes, `keyLength` of them.
    var sessionKeyBytes: [UInt8] { self.sessionKey.prefix(self.keyLength) }

    /// Replaces the current session key (for tests of a single key change from a known key).
    mutating func setSessionKey(_ key: Bytes16) {
        self.sessionKey = key
    }

    /// GetNewKeyFromSHA(StartKey, SessionKey) of RFC 3078 §7.3, first `keyLength` bytes in a `Bytes16`.
    private mutating func interimKey() -> Bytes16 {
        let keyLength = self.keyLength
        let session = self.sessionKey
        return Swift.withUnsafeMutableBytes(of: &self.shaInput) { input in
            session.withUnsafeBytes { key in
                UnsafeMutableRawBufferPointer(rebasing: input[(keyLength + 40)..<(2 * keyLength + 40)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: key[0..<keyLength]))
            }
            // The first `keyLength` digest bytes are the interim key; the rest of the 32-byte scratch is zeroed.
            var digest = (Bytes16(), Bytes16())
            Swift.withUnsafeMutableBytes(of: &digest) { out in
                SHA1Digest.hash(UnsafeRawBufferPointer(rebasing: input.prefix(2 * keyLength + 80)), into: out)
                UnsafeMutableRawBufferPointer(rebasing: out[keyLength..<32]).initializeMemory(
                    as: UInt8.self,
                    repeating: 0
                )
            }
            return digest.0
        }
    }

    /// One key change (RFC 3078 §7.3): InterimKey = GetNewKeyFromSHA(StartKey, SessionKey); RC4 keyed with the
    /// interim key encrypts the interim key, giving the new session key; then the strength reduction.
    mutating func changeKey() {
        var key = self.interimKey()
        var rc4 = RC4(key: key, keyLength: self.keyLength)
        key.withUnsafeMutableBytes { rc4.process(UnsafeMutableRawBufferPointer(rebasing: $0.prefix(self.keyLength))) }
        self.strength.reduce(&key)
        self.sessionKey = key
    }
}

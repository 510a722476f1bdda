/// The NT password hash, MD4 of the UTF-16LE password (RFC 2433 §A.6, RFC 2759 §8.3).
///
/// An authenticator can store this hash instead of the password: every MS-CHAP and MPPE computation needs only
/// the hash. It is a password equivalent, so `description` never shows it and `==` runs in constant time.
public struct NTPasswordHash: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Length of the hash in bytes.
    public static let byteCount = 16

    let value: Bytes16

    /// Hashes `password`, encoded as UTF-16 little-endian without a terminating zero (RFC 2759 §8.3).
    ///
    /// RFC 2759 allows 0 to 256 characters; longer passwords are hashed in full (only the password-change block
    /// of §8.10 has a hard limit). Note that pppd zero-extends the *bytes* of its secret instead of encoding it as
    /// UTF-16, so the two agree only for ASCII passwords; this type follows Windows.
    public init(password: String) {
        self.init(utf16LittleEndianPassword: Self.utf16LittleEndian(password))
    }

    /// Hashes a password given as its UTF-16LE bytes (RFC 2759 §8.3).
    public init(utf16LittleEndianPassword: [UInt8]) {
        self.value = Bytes16(MD4.hash(utf16LittleEndianPassword))
    }

    /// Wraps a stored 16-byte hash (for example from a secrets file that keeps hashes instead of passwords).
    public init(bytes: [UInt8]) throws(MSCryptoError) {
        try requireLength(bytes, Self.byteCount, .passwordHash)
        self.value = Bytes16(bytes)
    }

    init(value: Bytes16) {
        self.value = value
    }

    /// The 16 hash bytes. They are a password equivalent: do not log them.
    public var bytes: [UInt8] { self.value.prefix(Self.byteCount) }

    /// HashNtPasswordHash (RFC 2759 §8.4): MD4 of this hash, used for the authenticator response and MPPE keys.
    public var hashed: NTPasswordHash {
        NTPasswordHash(value: Bytes16(self.value.withUnsafeBytes { MD4.hash($0) }))
    }

    /// Constant-time comparison.
    public static func == (lhs: NTPasswordHash, rhs: NTPasswordHash) -> Bool {
        lhs.value.withUnsafeBytes { l in rhs.value.withUnsafeBytes { r in constantTimeEqual(l, r) } }
    }

    public var description: String { "NTPasswordHash(\(redacted))" }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    static func utf16LittleEndian(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf16.count * 2)
        for unit in text.utf16 {
            out.append(UInt8(truncatingIfNeeded: unit))
            out.append(UInt8(truncatingIfNeeded: unit >> 8))
        }
        return out
    }
}

/// The LAN Manager password hash (RFC 2433 §A.2), needed only for the MS-CHAPv1 LM response and the RFC 3079
/// §2.1–§2.2 40/56-bit MPPE keys. It is weak by design (upper-cased, split into 7-character halves); prefer
/// the NT hash.
public struct LMPasswordHash: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Length of the hash in bytes.
    public static let byteCount = 16

    let value: Bytes16

    /// RFC 2433 §A.2 LmPasswordHash: upper-case the password, zero-pad it to 14 characters, and DES-encrypt the
    /// constant "KGS!@#$%" under each 7-byte half (§A.3 DesHash).
    ///
    /// Nil when the password has more than 14 characters or characters outside ASCII: the LM hash is defined on
    /// the OEM code page, which this library cannot know, and Windows does not compute it for long passwords.
    public init?(password: String) {
        let characters = Array(password.utf8)
        guard characters.count <= 14, characters.allSatisfy({ $0 < 0x80 }) else { return nil }
        var padded = characters.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
        padded += [UInt8](repeating: 0, count: 14 - padded.count)
        let standardText: [UInt8] = Array("KGS!@#$%".utf8)
        var hash: [UInt8] = []
        for half in [padded[0..<7], padded[7..<14]] {
            // Both arrays have the lengths DesEncrypt requires, so this cannot throw.
            hash += (try? DES.desEncrypt(clear: standardText, key: Array(half))) ?? []
        }
        self.value = Bytes16(hash)
    }

    /// Wraps a stored 16-byte hash.
    public init(bytes: [UInt8]) throws(MSCryptoError) {
        try requireLength(bytes, Self.byteCount, .passwordHash)
        self.value = Bytes16(bytes)
    }

    /// The 16 hash bytes. They are a password equivalent: do not log them.
    public var bytes: [UInt8] { self.value.prefix(Self.byteCount) }

    /// Constant-time comparison.
    public static func == (lhs: LMPasswordHash, rhs: LMPasswordHash) -> Bool {
        lhs.value.withUnsafeBytes { l in rhs.value.withUnsafeBytes { r in constantTimeEqual(l, r) } }
    }

    public var description: String { "LMPasswordHash(\(redacted))" }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// ChallengeResponse (RFC 2433 §A.7, RFC 2759 §8.5): the 8-byte challenge DES-encrypted under each 7-byte third
/// of the password hash zero-padded to 21 bytes, giving 24 bytes.
func challengeResponse(challenge: [UInt8], passwordHash: Bytes16) -> [UInt8] {
    var padded = passwordHash.prefix(16)
    padded += [0, 0, 0, 0, 0]
    let clear = challenge.reduce(0 as UInt64) { $0 << 8 | UInt64($1) }
    var response: [UInt8] = []
    response.reserveCapacity(24)
    for third in 0..<3 {
        let key = padded[(7 * third)..<(7 * third + 7)].reduce(0 as UInt64) { $0 << 8 | UInt64($1) }
        let cipher = DES.encrypt(clear, key: DES.expandKey(key56: key))
        for shift in stride(from: 56, through: 0, by: -8) {
            response.append(UInt8(truncatingIfNeeded: cipher >> UInt64(shift)))
        }
    }
    return response
}

/// Errors of the MSCrypto target: an input from outside (the wire, a configuration file) had the wrong shape.
///
/// Every function that takes fixed-size fields (challenges, responses, keys) checks their lengths and throws
/// this error instead of trapping, so a malformed MS-CHAP packet can never crash the process.
public enum MSCryptoError: Error, Hashable, Sendable {
    /// A field had `actual` bytes where the RFC requires `expected`.
    case invalidLength(MSCryptoField, expected: Int, actual: Int)
    /// RFC 2759 §8.10: a password that does not fit the 512-byte PWBLOCK (256 UTF-16 code units).
    case passwordTooLong(utf16Count: Int)
    /// RFC 2759 §8.10: the decrypted PWBLOCK's PasswordLength is above 512 or odd, i.e. the old password hash used
    /// to decrypt it was wrong or the block was corrupted.
    case invalidPasswordBlock(passwordLength: UInt32)
    /// The password inside a decrypted PWBLOCK is not valid UTF-16.
    case passwordNotUTF16
}

/// Names the field an `MSCryptoError.invalidLength` refers to.
public enum MSCryptoField: Hashable, Sendable {
    case challenge
    case authenticatorChallenge
    case peerChallenge
    case ntResponse
    case authenticatorResponse
    case passwordHash
    case encryptedPasswordBlock
    case encryptedPasswordHash
    case desKey
    case desBlock
    case masterKey
    case startKey
}

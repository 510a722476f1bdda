import Crypto

/// MS-CHAP version 2, RFC 2759: the peer's NT-Response, the authenticator response that proves the authenticator
/// knows the password too, and the password-change blocks.
///
/// Every function takes the NT password hash rather than the password, so an authenticator may store hashes.
/// Inputs from the wire are checked for length and rejected with `MSCryptoError`, never trapped on.
public enum MSCHAPv2 {
    /// Length of the Authenticator-Challenge and the Peer-Challenge (RFC 2759 §3, §4).
    public static let challengeLength = 16
    /// Length of the NT-Response (RFC 2759 §4).
    public static let ntResponseLength = 24
    /// Length of the authenticator response digest (RFC 2759 §8.7).
    public static let authenticatorResponseLength = 20

    /// ChallengeHash (RFC 2759 §8.2): the first 8 bytes of SHA-1(PeerChallenge ‖ AuthenticatorChallenge ‖ UserName).
    ///
    /// RFC 2759 §8.2 hashes the user name "excluding any prepended domain name"; like pppd, everything up to and
    /// including the last backslash of `userName` is dropped ("BIGCO\johndoe" hashes as "johndoe").
    public static func challengeHash(
        peerChallenge: [UInt8],
        authenticatorChallenge: [UInt8],
        userName: [UInt8]
    ) throws(MSCryptoError) -> [UInt8] {
        try requireLength(peerChallenge, challengeLength, .peerChallenge)
        try requireLength(authenticatorChallenge, challengeLength, .authenticatorChallenge)
        let account: ArraySlice<UInt8>
        if let backslash = userName.lastIndex(of: UInt8(ascii: "\\")) {
            account = userName[(backslash + 1)...]
        } else {
            account = userName[...]
        }
        var sha = Insecure.SHA1()
        sha.update(data: peerChallenge)
        sha.update(data: authenticatorChallenge)
        sha.update(data: account)
        return Array(sha.finalize().prefix(8))
    }

    /// ChallengeHash with the user name as a Swift string (its UTF-8 bytes).
    public static func challengeHash(
        peerChallenge: [UInt8],
        authenticatorChallenge: [UInt8],
        userName: String
    ) throws(MSCryptoError) -> [UInt8] {
        try challengeHash(
            peerChallenge: peerChallenge,
            authenticatorChallenge: authenticatorChallenge,
            userName: Array(userName.utf8)
        )
    }

    /// GenerateNTResponse (RFC 2759 §8.1): ChallengeResponse(ChallengeHash(…), NtPasswordHash), 24 bytes.
    public static func generateNTResponse(
        authenticatorChallenge: [UInt8],
        peerChallenge: [UInt8],
        userName: [UInt8],
        passwordHash: NTPasswordHash
    ) throws(MSCryptoError) -> [UInt8] {
        let challenge = try challengeHash(
            peerChallenge: peerChallenge,
            authenticatorChallenge: authenticatorChallenge,
            userName: userName
        )
        return challengeResponse(challenge: challenge, passwordHash: passwordHash.value)
    }

    /// GenerateNTResponse with the user name as a Swift string (its UTF-8 bytes).
    public static func generateNTResponse(
        authenticatorChallenge: [UInt8],
        peerChallenge: [UInt8],
        userName: String,
        passwordHash: NTPasswordHash
    ) throws(MSCryptoError) -> [UInt8] {
        try generateNTResponse(
            authenticatorChallenge: authenticatorChallenge,
            peerChallenge: peerChallenge,
            userName: Array(userName.utf8),
            passwordHash: passwordHash
        )
    }

    /// Authenticator side: whether `ntResponse` is what GenerateNTResponse gives for this password hash, compared
    /// in constant time. Wrong lengths give false.
    public static func verifyNTResponse(
        _ ntResponse: [UInt8],
        authenticatorChallenge: [UInt8],
        peerChallenge: [UInt8],
        userName: [UInt8],
        passwordHash: NTPasswordHash
    ) -> Bool {
        guard ntResponse.count == ntResponseLength,
            let expected = try? generateNTResponse(
                authenticatorChallenge: authenticatorChallenge,
                peerChallenge: peerChallenge,
                userName: userName,
                passwordHash: passwordHash
            )
        else { return false }
        return constantTimeEqual(expected, ntResponse)
    }

    /// GenerateAuthenticatorResponse (RFC 2759 §8.7):
    /// SHA-1(SHA-1(PasswordHashHash ‖ NT-Response ‖ Magic1) ‖ ChallengeHash ‖ Magic2).
    public static func generateAuthenticatorResponse(
        passwordHash: NTPasswordHash,
        ntResponse: [UInt8],
        peerChallenge: [UInt8],
        authenticatorChallenge: [UInt8],
        userName: [UInt8]
    ) throws(MSCryptoError) -> MSCHAPv2AuthenticatorResponse {
        try requireLength(ntResponse, ntResponseLength, .ntResponse)
        let challenge = try challengeHash(
            peerChallenge: peerChallenge,
            authenticatorChallenge: authenticatorChallenge,
            userName: userName
        )
        var first = Insecure.SHA1()
        passwordHash.hashed.value.withUnsafeBytes { first.update(bufferPointer: $0) }
        first.update(data: ntResponse)
        first.update(data: magic1)
        var second = Insecure.SHA1()
        second.update(data: Array(first.finalize()))
        second.update(data: challenge)
        second.update(data: magic2)
        return MSCHAPv2AuthenticatorResponse(validDigest: Array(second.finalize()))
    }

    /// GenerateAuthenticatorResponse with the user name as a Swift string (its UTF-8 bytes).
    public static func generateAuthenticatorResponse(
        passwordHash: NTPasswordHash,
        ntResponse: [UInt8],
        peerChallenge: [UInt8],
        authenticatorChallenge: [UInt8],
        userName: String
    ) throws(MSCryptoError) -> MSCHAPv2AuthenticatorResponse {
        try generateAuthenticatorResponse(
            passwordHash: passwordHash,
            ntResponse: ntResponse,
            peerChallenge: peerChallenge,
            authenticatorChallenge: authenticatorChallenge,
            userName: Array(userName.utf8)
        )
    }

    /// CheckAuthenticatorResponse (RFC 2759 §8.8), peer side: whether `received`, the 42-byte
    /// "S=<40 hex digits>" at the start of the Success message, is the response this password gives.
    ///
    /// The digests are compared in constant time. RFC 2759 §5 requires upper-case digits; lower-case ones are
    /// accepted too, since they encode the same digest. Anything malformed gives false, and RFC 2759 §5 then
    /// requires the peer to end the session.
    public static func checkAuthenticatorResponse(
        _ received: [UInt8],
        passwordHash: NTPasswordHash,
        ntResponse: [UInt8],
        peerChallenge: [UInt8],
        authenticatorChallenge: [UInt8],
        userName: [UInt8]
    ) -> Bool {
        guard let receivedResponse = MSCHAPv2AuthenticatorResponse(parsing: received),
            let expected = try? generateAuthenticatorResponse(
                passwordHash: passwordHash,
                ntResponse: ntResponse,
                peerChallenge: peerChallenge,
                authenticatorChallenge: authenticatorChallenge,
                userName: userName
            )
        else { return false }
        return constantTimeEqual(expected.digest, receivedResponse.digest)
    }

    // MARK: Password change (RFC 2759 §7, §8.9–§8.13)

    /// Length of the encrypted PWBLOCK: 512 bytes of password area and a 4-byte length (RFC 2759 §8.9).
    public static let passwordBlockLength = 516
    /// Longest new password the PWBLOCK holds, in UTF-16 code units (RFC 2759 §8.9: 256 Unicode characters).
    public static let maximumPasswordUTF16Count = 256

    /// NewPasswordEncryptedWithOldNtPasswordHash (RFC 2759 §8.9–§8.10): the 516-byte Encrypted-Password field of
    /// the Change-Password packet (§7). The new password (UTF-16LE) is placed at the end of a 512-byte area
    /// filled with random bytes from `generator`, followed by its byte length (32-bit little-endian), and the
    /// block is RC4-encrypted under the old password hash. MS-CHAPv1's Change-Password (version 2) packet uses
    /// the same block (RFC 2433 §A.11–§A.12).
    public static func newPasswordEncryptedWithOldNTPasswordHash(
        newPassword: String,
        oldPasswordHash: NTPasswordHash,
        using generator: inout some RandomNumberGenerator
    ) throws(MSCryptoError) -> [UInt8] {
        let password = NTPasswordHash.utf16LittleEndian(newPassword)
        guard password.count <= 2 * maximumPasswordUTF16Count else {
            throw .passwordTooLong(utf16Count: password.count / 2)
        }
        // RFC 2759 §8.10: "Fill ClearPwBlock with random octet values".
        var block = [UInt8](repeating: 0, count: passwordBlockLength)
        for index in 0..<512 {
            block[index] = UInt8.random(in: .min ... .max, using: &generator)
        }
        let offset = 512 - password.count
        block.replaceSubrange(offset..<512, with: password)
        let length = UInt32(password.count)
        for byte in 0..<4 {
            block[512 + byte] = UInt8(truncatingIfNeeded: length >> UInt32(8 * byte))
        }
        var rc4 = oldPasswordHash.value.withUnsafeBytes { RC4(key: Bytes16($0), keyLength: 16) }
        rc4.process(&block)
        return block
    }

    /// Authenticator side of §8.9: decrypts the 516-byte Encrypted-Password with the old password hash and
    /// returns the new password.
    ///
    /// A block encrypted under a different hash decrypts to noise; it is rejected when its length field is out
    /// of range or odd, or when the password is not valid UTF-16. A wrong old hash can still pass these checks by
    /// chance (about 1 in 2^23), so the caller must also verify the Encrypted-Hash field with
    /// `verifyOldNTPasswordHashEncryptedWithNewNTPasswordHash` and the NT-Response with the new password.
    public static func decryptNewPassword(
        _ encryptedBlock: [UInt8],
        oldPasswordHash: NTPasswordHash
    ) throws(MSCryptoError) -> String {
        try requireLength(encryptedBlock, passwordBlockLength, .encryptedPasswordBlock)
        var block = encryptedBlock
        var rc4 = oldPasswordHash.value.withUnsafeBytes { RC4(key: Bytes16($0), keyLength: 16) }
        rc4.process(&block)
        var length: UInt32 = 0
        for byte in 0..<4 {
            length |= UInt32(block[512 + byte]) << UInt32(8 * byte)
        }
        guard length <= 512, length % 2 == 0 else {
            throw .invalidPasswordBlock(passwordLength: length)
        }
        let start = 512 - Int(length)
        var units: [UInt16] = []
        units.reserveCapacity(Int(length) / 2)
        for index in stride(from: start, to: 512, by: 2) {
            units.append(UInt16(block[index]) | UInt16(block[index + 1]) << 8)
        }
        var scalars = String.UnicodeScalarView()
        let failed = transcode(
            units.makeIterator(),
            from: UTF16.self,
            to: UTF32.self,
            stoppingOnError: true
        ) { scalar in
            if let unicodeScalar = Unicode.Scalar(scalar) {
                scalars.append(unicodeScalar)
            }
        }
        guard !failed else { throw .passwordNotUTF16 }
        return String(scalars)
    }

    /// OldNtPasswordHashEncryptedWithNewNtPasswordHash (RFC 2759 §8.12–§8.13): the 16-byte Encrypted-Hash
    /// field, each half of the old hash DES-encrypted under the matching 7 bytes of the new hash.
    public static func oldNTPasswordHashEncryptedWithNewNTPasswordHash(
        newPasswordHash: NTPasswordHash,
        oldPasswordHash: NTPasswordHash
    ) -> [UInt8] {
        let old = oldPasswordHash.bytes
        let new = newPasswordHash.bytes
        var cipher: [UInt8] = []
        for half in 0..<2 {
            // Both slices have the lengths DesEncrypt requires, so this cannot throw.
            cipher +=
                (try? DES.desEncrypt(
                    clear: Array(old[(8 * half)..<(8 * half + 8)]),
                    key: Array(new[(7 * half)..<(7 * half + 7)])
                )) ?? []
        }
        return cipher
    }

    /// Authenticator side of §8.12: whether `encryptedHash` is the old hash encrypted under the new one, compared
    /// in constant time. A wrong length gives false.
    public static func verifyOldNTPasswordHashEncryptedWithNewNTPasswordHash(
        _ encryptedHash: [UInt8],
        newPasswordHash: NTPasswordHash,
        oldPasswordHash: NTPasswordHash
    ) -> Bool {
        let expected = oldNTPasswordHashEncryptedWithNewNTPasswordHash(
            newPasswordHash: newPasswordHash,
            oldPasswordHash: oldPasswordHash
        )
        return constantTimeEqual(expected, encryptedHash)
    }

    /// RFC 2759 §8.7 Magic1: "Magic server to client signing constant".
    private static let magic1: [UInt8] = Array("Magic server to client signing constant".utf8)
    /// RFC 2759 §8.7 Magic2: "Pad to make it do more than one iteration".
    private static let magic2: [UInt8] = Array("Pad to make it do more than one iteration".utf8)
}

/// The MS-CHAPv2 authenticator response (RFC 2759 §5, §8.7): a 20-byte digest sent in the Success packet as
/// "S=" followed by 40 upper-case hexadecimal digits.
///
/// It is public on the wire, so it is printed normally.
public struct MSCHAPv2AuthenticatorResponse: Hashable, Sendable, CustomStringConvertible {
    /// The 20-byte digest.
    public let digest: [UInt8]

    /// Wraps a 20-byte digest.
    public init(digest: [UInt8]) throws(MSCryptoError) {
        try requireLength(digest, MSCHAPv2.authenticatorResponseLength, .authenticatorResponse)
        self.digest = digest
    }

    /// Wraps a digest known to be 20 bytes long.
    init(validDigest: [UInt8]) {
        self.digest = validDigest
    }

    /// Parses the 42-byte "S=<40 hex digits>" form (either case of hex digit); nil if malformed.
    public init?(parsing text: [UInt8]) {
        guard text.count == 42, text[0] == UInt8(ascii: "S"), text[1] == UInt8(ascii: "="),
            let digest = Hex.decode(text[2...]), digest.count == MSCHAPv2.authenticatorResponseLength
        else { return nil }
        self.digest = digest
    }

    /// The 42-character "S=<40 upper-case hex digits>" string of RFC 2759 §5.
    public var string: String { "S=" + Hex.upperCase(self.digest) }

    /// The ASCII bytes of `string`, ready to be put in the Success packet's Message.
    public var bytes: [UInt8] { Array(self.string.utf8) }

    public var description: String { self.string }
}

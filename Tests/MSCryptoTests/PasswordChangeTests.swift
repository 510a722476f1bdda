import PropertyBased
import Testing

@testable import MSCrypto

@Suite struct PasswordChangeTests {
    /// RFC 2759 §8.10: the PWBLOCK decrypts (RC4 under the old hash) to random filler, the UTF-16LE password at
    /// the end of the 512-byte area, and its byte length as a 32-bit little-endian number.
    @Test func encryptedPasswordBlockHasRFC2759Layout() throws {
        var generator = SeededGenerator(seed: 1)
        let old = NTPasswordHash(password: "clientPass")
        let block = try MSCHAPv2.newPasswordEncryptedWithOldNTPasswordHash(
            newPassword: "MyPw",
            oldPasswordHash: old,
            using: &generator
        )
        #expect(block.count == 516)
        var clear = block
        var rc4 = try #require(RC4(key: old.bytes))
        rc4.process(&clear)
        #expect(Array(clear[504..<512]) == hex("4D 00 79 00 50 00 77 00"))
        #expect(Array(clear[512..<516]) == [8, 0, 0, 0])
    }

    /// The authenticator recovers the new password from the block, whatever it is (up to 256 UTF-16 units).
    @Test func decryptNewPasswordRecoversAnyPassword() async throws {
        let characters = Array("abcXYZ019 !~äöüß€中文😀")
        await propertyCheck(input: Gen.int(in: 0...(characters.count - 1)).array(of: 0...120), Gen.uint64()) {
            indices,
            seed in
            let password = String(indices.map { characters[$0] })
            var generator = SeededGenerator(seed: seed)
            let old = NTPasswordHash(password: "old password \(seed)")
            do {
                let block = try MSCHAPv2.newPasswordEncryptedWithOldNTPasswordHash(
                    newPassword: password,
                    oldPasswordHash: old,
                    using: &generator
                )
                #expect(try MSCHAPv2.decryptNewPassword(block, oldPasswordHash: old) == password)
            } catch {
                #expect(password.utf16.count > 256, "unexpected \(error)")
            }
        }
    }

    @Test func passwordBlockRejectsOverlongPassword() {
        var generator = SeededGenerator(seed: 2)
        let longest = String(repeating: "x", count: 256)
        #expect(throws: Never.self) {
            try MSCHAPv2.newPasswordEncryptedWithOldNTPasswordHash(
                newPassword: longest,
                oldPasswordHash: NTPasswordHash(password: ""),
                using: &generator
            )
        }
        #expect(throws: MSCryptoError.passwordTooLong(utf16Count: 257)) {
            try MSCHAPv2.newPasswordEncryptedWithOldNTPasswordHash(
                newPassword: longest + "y",
                oldPasswordHash: NTPasswordHash(password: ""),
                using: &generator
            )
        }
    }

    /// Decrypting with the wrong old hash yields an out-of-range length almost always; it never traps.
    @Test func decryptNewPasswordWithWrongHashFailsOrYieldsOtherPassword() throws {
        var generator = SeededGenerator(seed: 3)
        var rejected = 0
        for attempt in 0..<200 {
            let block = try MSCHAPv2.newPasswordEncryptedWithOldNTPasswordHash(
                newPassword: "new-secret",
                oldPasswordHash: NTPasswordHash(password: "right \(attempt)"),
                using: &generator
            )
            if let recovered = try? MSCHAPv2.decryptNewPassword(
                block,
                oldPasswordHash: NTPasswordHash(password: "wrong")
            ) {
                #expect(recovered != "new-secret")
            } else {
                rejected += 1
            }
        }
        #expect(rejected >= 195)
        #expect(throws: MSCryptoError.invalidLength(.encryptedPasswordBlock, expected: 516, actual: 515)) {
            try MSCHAPv2.decryptNewPassword(
                [UInt8](repeating: 0, count: 515),
                oldPasswordHash: NTPasswordHash(password: "")
            )
        }
    }

    /// RFC 2759 §8.12–§8.13 built from DesEncrypt: each half of the old hash under 7 bytes of the new hash.
    @Test func encryptedHashIsDESOfOldHashHalvesUnderNewHash() throws {
        let old = NTPasswordHash(password: "clientPass")
        let new = NTPasswordHash(password: "MyPw")
        let cipher = MSCHAPv2.oldNTPasswordHashEncryptedWithNewNTPasswordHash(
            newPasswordHash: new,
            oldPasswordHash: old
        )
        let first = try DES.desEncrypt(clear: Array(old.bytes[0..<8]), key: Array(new.bytes[0..<7]))
        let second = try DES.desEncrypt(clear: Array(old.bytes[8..<16]), key: Array(new.bytes[7..<14]))
        #expect(cipher == first + second)
        #expect(
            MSCHAPv2.verifyOldNTPasswordHashEncryptedWithNewNTPasswordHash(
                cipher,
                newPasswordHash: new,
                oldPasswordHash: old
            )
        )
        #expect(
            !MSCHAPv2.verifyOldNTPasswordHashEncryptedWithNewNTPasswordHash(
                cipher,
                newPasswordHash: old,
                oldPasswordHash: new
            )
        )
        #expect(
            !MSCHAPv2.verifyOldNTPasswordHashEncryptedWithNewNTPasswordHash(
                Array(cipher.prefix(15)),
                newPasswordHash: new,
                oldPasswordHash: old
            )
        )
    }
}

import Testing

@testable import MSCrypto

@Suite struct DESTests {
    /// Known-answer tests: the worked example of J. Orlin Grabbe's "The DES Algorithm Illustrated", a weak-key-free
    /// all-zero result, and the "Now is t" block of FIPS 81 (checked against OpenSSL).
    @Test(arguments: [
        ("133457799BBCDFF1", "0123456789ABCDEF", "85E813540F0AB405"),
        ("0E329232EA6D0D73", "8787878787878787", "0000000000000000"),
        ("0123456789ABCDEF", "4E6F772069732074", "3FA40E8A984D4815"),
    ])
    func desMatchesKnownAnswers(key: String, plaintext: String, ciphertext: String) throws {
        #expect(try DES.encrypt(block: hex(plaintext), key: hex(key)) == hex(ciphertext))
    }

    /// RFC 2759 §9.3 / RFC 2433 §B.3: parity-corrected DES keys from the hash of "MyPw".
    @Test func desKeyExpansionMatchesRFC2759Section9_3() throws {
        #expect(try DES.expandKey(hex("FC 15 6A F7 ED CD 6C")) == hex("FD 0B 5B 5E 7F 6E 34 D9"))
        #expect(try DES.expandKey(hex("0E DD E3 33 7D 42 7F")) == hex("0E 6E 79 67 37 EA 08 FE"))
    }

    /// The parity bits are ignored by the cipher, so DesEncrypt with a 7-byte key equals DES under its expansion.
    @Test func desEncryptOfSevenByteKeyEqualsEncryptUnderExpandedKey() throws {
        let key7 = hex("FC 15 6A F7 ED CD 6C")
        let clear = hex("10 2D B5 DF 08 5D 30 41")
        let viaSeven = try DES.desEncrypt(clear: clear, key: key7)
        let viaEight = try DES.encrypt(block: clear, key: try DES.expandKey(key7))
        #expect(viaSeven == viaEight)
        var noParity = try DES.expandKey(key7)
        noParity = noParity.map { $0 & 0xFE }
        #expect(try DES.encrypt(block: clear, key: noParity) == viaEight)
    }

    @Test func desRejectsWrongLengths() {
        #expect(throws: MSCryptoError.invalidLength(.desKey, expected: 7, actual: 8)) {
            try DES.expandKey([UInt8](repeating: 0, count: 8))
        }
        #expect(throws: MSCryptoError.invalidLength(.desBlock, expected: 8, actual: 7)) {
            try DES.desEncrypt(clear: [UInt8](repeating: 0, count: 7), key: [UInt8](repeating: 0, count: 7))
        }
        #expect(throws: MSCryptoError.invalidLength(.desKey, expected: 8, actual: 0)) {
            try DES.encrypt(block: [UInt8](repeating: 0, count: 8), key: [])
        }
    }
}

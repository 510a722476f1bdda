import MSCrypto

/// Crypto values the tests compute independently of the decoder.
enum MSCryptoFixture {
    static func ntHash(_ password: String) -> [UInt8] {
        NTPasswordHash(password: password).bytes
    }
}

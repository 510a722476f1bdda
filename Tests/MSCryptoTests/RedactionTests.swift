import Testing

@testable import MSCrypto

@Suite struct RedactionTests {
    /// Every way of printing a value: description, debugDescription and dump (Mirror).
    private func renderings(_ value: some Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return [String(describing: value), String(reflecting: value), "\(value)", dumped]
    }

    private func expectRedacted(
        _ value: some Any,
        secrets: [[UInt8]],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for text in self.renderings(value) {
            for secret in secrets {
                let lower = hexString(secret)
                let upper = lower.uppercased()
                #expect(!text.contains(lower) && !text.contains(upper), "\(text)", sourceLocation: sourceLocation)
                // Also not as a decimal array.
                #expect(
                    !text.contains(secret.prefix(4).map(String.init).joined(separator: ", ")),
                    "\(text)",
                    sourceLocation: sourceLocation
                )
            }
            #expect(text.contains("redacted"), "\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func passwordHashesDoNotPrintTheirBytes() throws {
        let nt = NTPasswordHash(password: "clientPass")
        self.expectRedacted(nt, secrets: [nt.bytes])
        let lm = try #require(LMPasswordHash(password: "clientPass"))
        self.expectRedacted(lm, secrets: [lm.bytes])
    }

    @Test func mppeKeysDoNotPrintTheirBytes() throws {
        let keys = try MPPEKeys.msCHAPv2(
            passwordHash: NTPasswordHash(password: "clientPass"),
            ntResponse: RFC2759Sample.ntResponse,
            strength: .bits128,
            isServer: false
        )
        let secrets = [keys.send.bytes, keys.receive.bytes, keys.send.initialSessionKey]
        self.expectRedacted(keys, secrets: secrets)
        self.expectRedacted(keys.send, secrets: secrets)
    }

    @Test func ciphersDoNotPrintKeysOrState() throws {
        let key = try MPPEMasterKey(bytes: hex("000102030405060708090a0b0c0d0e0f"), strength: .bits128)
        var encryptor = MPPEEncryptor(key: key, mode: .stateless)
        var payload: [UInt8] = [0, 0x21, 1, 2, 3]
        _ = encryptor.encrypt(&payload)
        self.expectRedacted(encryptor, secrets: [key.bytes, key.initialSessionKey])
        self.expectRedacted(MPPEDecryptor(key: key, mode: .stateful), secrets: [key.bytes, key.initialSessionKey])
        let rc4 = try #require(RC4(key: key.bytes))
        self.expectRedacted(rc4, secrets: [key.bytes])
    }
}

extension String {
    fileprivate func contains(_ other: String) -> Bool {
        self.firstRange(of: other) != nil
    }
}

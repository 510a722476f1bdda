import MSCrypto
import PPP

/// The MPPE receiver of one direction of a captured call (RFC 3078 §8), acting as the real peer would.
///
/// Stateless mode keeps a cache of recent keys, so that a packet overtaken by a newer one (GRE reordering that the
/// reorder buffer gave up on) still decrypts. Stateful mode runs both reset behaviours of `MPPEResetBehaviour`
/// side by side until one of them produces a packet that is not valid PPP: the capture does not say whether the
/// sender follows RFC 3078 §8.2 or the Linux kernel, but the plaintext does.
struct MPPEStream: Sendable {
    /// The outcome of one packet.
    enum Outcome: Sendable {
        /// Decrypted: the PPP protocol field and payload, and whether a late key was used.
        case decrypted(plaintext: [UInt8], late: Bool, skipped: Int)
        /// Not decrypted, with the reason.
        case failed(MPPEError)
    }

    private var primary: MPPEDecryptor
    private var alternative: MPPEDecryptor?
    let mode: MPPEMode
    let strength: MPPEKeyStrength

    init(key: MPPEMasterKey, mode: MPPEMode, preferLinuxResets: Bool, lateKeyCacheSize: Int) {
        self.mode = mode
        self.strength = key.strength
        switch mode {
        case .stateless:
            primary = MPPEDecryptor(key: key, mode: .stateless, lateKeyCacheSize: lateKeyCacheSize)
            alternative = nil
        case .stateful:
            let linux = MPPEDecryptor(key: key, mode: .stateful, resetBehaviour: .changeKey)
            let rfc = MPPEDecryptor(key: key, mode: .stateful, resetBehaviour: .reinitialise)
            primary = preferLinuxResets ? linux : rfc
            alternative = preferLinuxResets ? rfc : linux
        }
    }

    /// Decrypts `ciphertext` (everything after the MPPE header).
    mutating func decrypt(header: MPPEHeader, ciphertext: [UInt8]) -> Outcome {
        var text = ciphertext
        let result = primary.decrypt(header: header, ciphertext: &text)
        guard var other = alternative else { return Self.outcome(result, text) }
        var otherText = ciphertext
        let otherResult = other.decrypt(header: header, ciphertext: &otherText)
        let primaryValid = Self.isDecrypted(result) && Self.looksLikePPP(text)
        let otherValid = Self.isDecrypted(otherResult) && Self.looksLikePPP(otherText)
        switch (primaryValid, otherValid) {
        case (true, false):
            // The alternative reset behaviour is not the sender's.
            alternative = nil
            return Self.outcome(result, text)
        case (false, true):
            // The alternative is the sender's: switch to it for good.
            primary = other
            alternative = nil
            return Self.outcome(otherResult, otherText)
        case (true, true), (false, false):
            // Both agree (or both fail): nothing tells them apart yet.
            alternative = other
            return Self.outcome(result, text)
        }
    }

    private static func isDecrypted(_ result: Result<MPPEDecryption, MPPEError>) -> Bool {
        if case .success = result { return true }
        return false
    }

    private static func outcome(_ result: Result<MPPEDecryption, MPPEError>, _ text: [UInt8]) -> Outcome {
        switch result {
        case .success(.inOrder(let skipped)): .decrypted(plaintext: text, late: false, skipped: skipped)
        case .success(.late): .decrypted(plaintext: text, late: true, skipped: 0)
        case .failure(let error): .failed(error)
        }
    }

    /// Whether decrypted octets look like a PPP packet: a valid protocol field and, for IPv4, a correct header.
    static func looksLikePPP(_ plaintext: [UInt8]) -> Bool {
        guard
            let header = try? plaintext.withUnsafeBytes({ bytes throws(PPPWireError) in try PPPFrameHeader.parse(bytes)
            })
        else { return false }
        let body = Array(plaintext.dropFirst(header.encodedLength))
        switch header.protocolNumber {
        case .ipv4: return InnerPacketSummary.ipv4(body).isValid
        case .ipv6: return body.first.map { $0 >> 4 == 6 } ?? false
        default: return header.protocolNumber.isNetworkLayer
        }
    }
}

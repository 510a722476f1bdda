import MSCrypto

/// MPPE on a session's data path (RFC 3078, keys RFC 3079): the ciphers for what CCP agreed, from
/// the key material the MS-CHAP authentication left.
enum EncryptionLayer {
    /// The encryptor (our sending direction) and decryptor (the peer's) for the agreed strengths and
    /// modes, or nil when there are no keys for them (no MS-CHAP material, or a strength it cannot give).
    static func ciphers(
        sending: MPPEDirection,
        receiving: MPPEDirection,
        keys: MPPEKeyMaterial?,
        configuration: PPPSessionConfiguration
    ) -> (MPPEEncryptor, MPPEDecryptor)? {
        guard let keys, let (sendKey, receiveKey) = try? keys.keys(send: sending.strength, receive: receiving.strength)
        else { return nil }
        return (
            MPPEEncryptor(key: sendKey, mode: sending.mode, resetBehaviour: configuration.mppeResetBehaviour),
            MPPEDecryptor(
                key: receiveKey,
                mode: receiving.mode,
                resetBehaviour: configuration.mppeResetBehaviour,
                // Stateless only: recent keys for packets GRE delivers after a newer one.
                lateKeyCacheSize: receiving.mode == .stateless ? configuration.mppeLateKeyCache : 0
            )
        )
    }
}

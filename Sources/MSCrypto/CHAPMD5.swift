import Crypto

/// CHAP with MD5 (RFC 1994 §4.1): Response = MD5(Identifier ‖ secret ‖ Challenge).
public enum CHAPMD5 {
    /// The 16-octet response the peer sends for `challenge` in the packet with `identifier`.
    public static func response(identifier: UInt8, secret: [UInt8], challenge: [UInt8]) -> [UInt8] {
        var md5 = Insecure.MD5()
        md5.update(data: [identifier])
        md5.update(data: secret)
        md5.update(data: challenge)
        return Array(md5.finalize())
    }

    /// Checks a response in constant time.
    public static func verify(_ response: [UInt8], identifier: UInt8, secret: [UInt8], challenge: [UInt8]) -> Bool {
        let expected = Self.response(identifier: identifier, secret: secret, challenge: challenge)
        guard response.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(response, expected) { difference |= a ^ b }
        return difference == 0
    }
}

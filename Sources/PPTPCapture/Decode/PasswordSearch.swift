import MSCrypto
import PPP

/// Checks the words of a list against the authentication exchanges of a capture, in a tight loop.
///
/// For MS-CHAPv1 and MS-CHAPv2 the search first recovers, from the capture alone, the last two octets of the NT
/// hash: they are the third DES key of ChallengeResponse (RFC 2759 §8.5, RFC 2433 §A.7), padded with five zero
/// octets, so only 2^16 keys need trying. That is the first step of the "divide and conquer" attack that
/// chapcrack made known. A candidate then costs one MD4 (its NT hash), and only the one in 65 536 whose hash ends
/// in those two octets is checked in full.
public struct PasswordSearch: Sendable {
    /// One exchange prepared for the loop.
    struct Target: Sendable {
        var exchange: AuthenticationExchange
        /// MS-CHAP: the 8 octets that ChallengeResponse encrypts, and the last two octets of the NT hash.
        var hashTail: (UInt8, UInt8)?
        var found: (number: Int, password: [UInt8])?
    }

    private var targets: [Target]

    /// Prepares the exchanges. MS-CHAP exchanges whose third DES block matches no two-octet key (a corrupt
    /// capture) are kept, and checked in full for every candidate.
    public init(exchanges: [AuthenticationExchange]) {
        targets = exchanges.map { Target(exchange: $0, hashTail: Self.recoverHashTail($0)) }
    }

    /// The last two octets of the NT hash of an MS-CHAP exchange, found by trying the 2^16 third DES keys.
    static func recoverHashTail(_ exchange: AuthenticationExchange) -> (UInt8, UInt8)? {
        let challenge: [UInt8]
        let ntResponse: [UInt8]
        switch exchange.values {
        case .msCHAPv2(let authenticatorChallenge, let peerChallenge, let response, let userName):
            guard
                let hash = try? MSCHAPv2.challengeHash(
                    peerChallenge: peerChallenge,
                    authenticatorChallenge: authenticatorChallenge,
                    userName: userName
                )
            else { return nil }
            challenge = hash
            ntResponse = response
        case .msCHAPv1(let value, let response):
            challenge = value
            ntResponse = response
        case .chapMD5, .pap:
            return nil
        }
        guard ntResponse.count == 24, challenge.count == 8 else { return nil }
        let third = Array(ntResponse[16..<24])
        var key: [UInt8] = [0, 0, 0, 0, 0, 0, 0]
        for high in 0...255 {
            key[0] = UInt8(high)
            for low in 0...255 {
                key[1] = UInt8(low)
                if let cipher = try? DES.desEncrypt(clear: challenge, key: key), cipher == third {
                    return (UInt8(high), UInt8(low))
                }
            }
        }
        return nil
    }

    /// The last two octets of the NT hash recovered for each MS-CHAP exchange (nil for other methods).
    public var recoveredHashTails: [[UInt8]?] {
        targets.map { $0.hashTail.map { [$0.0, $0.1] } }
    }

    /// Tries every candidate against every exchange not yet solved; stops early when all are solved.
    ///
    /// - Parameters:
    ///   - candidates: the words, as UTF-8 octets (one line of the list each, without its line end).
    ///   - clock: measures the loop, for the candidates-per-second figure.
    ///   - showSecrets: put the passwords found in the report.
    public mutating func run<C: Clock>(
        candidates: [[UInt8]],
        clock: C,
        showSecrets: Bool
    ) -> PasswordSearchReport where C.Duration == Duration {
        var tried = 0
        let start = clock.now
        var utf16: [UInt8] = []
        utf16.reserveCapacity(512)
        for candidate in candidates {
            if targets.allSatisfy({ $0.found != nil }) { break }
            tried += 1
            // The NT hash of the candidate (RFC 2759 §8.3): MD4 of its UTF-16LE form, computed once.
            var ntHash: [UInt8]?
            for index in targets.indices where targets[index].found == nil {
                switch targets[index].exchange.values {
                case .msCHAPv2, .msCHAPv1:
                    if ntHash == nil {
                        Self.utf16LittleEndian(candidate, into: &utf16)
                        ntHash = utf16.withUnsafeBytes { MD4.hash($0) }
                    }
                    guard let hash = ntHash else { continue }
                    if let tail = targets[index].hashTail, hash[14] != tail.0 || hash[15] != tail.1 { continue }
                    guard let nt = try? NTPasswordHash(bytes: hash) else { continue }
                    if targets[index].exchange.verify(CandidateSecret(hash: nt)) == true {
                        targets[index].found = (tried, candidate)
                    }
                case .chapMD5(let identifier, let challenge, let response):
                    if CHAPMD5.verify(response, identifier: identifier, secret: candidate, challenge: challenge) {
                        targets[index].found = (tried, candidate)
                    }
                case .pap(let password):
                    if password == candidate { targets[index].found = (tried, candidate) }
                }
            }
        }
        let elapsed = start.duration(to: clock.now)
        let (seconds, attoseconds) = elapsed.components
        let total = Double(seconds) + Double(attoseconds) / 1e18
        return PasswordSearchReport(
            candidatesTried: tried,
            seconds: total,
            candidatesPerSecond: total > 0 ? Double(tried) / total : 0,
            results: targets.map { target in
                PasswordSearchResult(
                    call: target.exchange.call,
                    user: target.exchange.user,
                    method: target.exchange.method.description,
                    found: target.found != nil,
                    candidateNumber: target.found?.number,
                    password: showSecrets ? target.found.map { String(decoding: $0.password, as: UTF8.self) } : nil
                )
            }
        )
    }

    /// The passwords found, by exchange (for decrypting with them afterwards).
    public var foundPasswords: [(exchange: AuthenticationExchange, password: String)] {
        targets.compactMap { target in
            target.found.map { (target.exchange, String(decoding: $0.password, as: UTF8.self)) }
        }
    }

    /// UTF-16LE of UTF-8 octets; a fast path for ASCII, the standard library otherwise.
    private static func utf16LittleEndian(_ utf8: [UInt8], into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        if utf8.allSatisfy({ $0 < 0x80 }) {
            for byte in utf8 {
                out.append(byte)
                out.append(0)
            }
            return
        }
        for unit in String(decoding: utf8, as: UTF8.self).utf16 {
            out.append(UInt8(truncatingIfNeeded: unit))
            out.append(UInt8(truncatingIfNeeded: unit >> 8))
        }
    }

    /// Splits a word list into candidates: one per line, `\r\n` or `\n`, empty lines skipped.
    public static func candidates(fromWordList bytes: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = 0
        for index in bytes.indices where bytes[index] == 0x0A {
            var end = index
            if end > start && bytes[end - 1] == 0x0D { end -= 1 }
            if end > start { result.append(Array(bytes[start..<end])) }
            start = index + 1
        }
        if start < bytes.count {
            var end = bytes.count
            if bytes[end - 1] == 0x0D { end -= 1 }
            if end > start { result.append(Array(bytes[start..<end])) }
        }
        return result
    }
}

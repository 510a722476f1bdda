import MSCrypto
import PPP

/// One line of a `chap-secrets` file (pppd's format, so pptpd users can move over):
/// `client server secret [addresses…]`.
public struct ChapSecretEntry: Sendable, Equatable, CustomStringConvertible {
    /// The user name, or "*" for any.
    public var client: String
    /// The server name the entry is for, or "*".
    public var server: String
    public var secret: StoredSecret
    /// The addresses the user may have: `.any` for "*", a list of fixed addresses, or `.none`
    /// for "-" (pppd: the user may not use IP).
    public var addresses: AddressRestriction
    /// The line in the file (for messages).
    public var line: Int

    public enum AddressRestriction: Sendable, Equatable {
        case any
        case fixed([IPv4Address])
        case none
    }

    public var description: String { "\(client) \(server) <secret hidden> (line \(line))" }
}

/// A problem in a secrets file, with its location.
public struct SecretsFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String

    public var description: String { "\(path):\(line): \(message)" }
}

/// The users of a server, from a `chap-secrets`-format file.
///
/// Besides pppd's clear-text secrets, a secret of the form `nt:<32 hex digits>` is an NT hash
/// (MD4 of the UTF-16LE password), so that no clear password has to be stored; such users can
/// log in with MS-CHAPv1/v2 and PAP, not CHAP-MD5.
public struct ChapSecrets: Sendable {
    public private(set) var entries: [ChapSecretEntry]

    public init(entries: [ChapSecretEntry]) { self.entries = entries }

    /// Parses the file text. Quoting follows pppd: double quotes group words, `#` starts a
    /// comment outside quotes, a backslash escapes the next character.
    public init(parsing text: String, path: String = "chap-secrets") throws(SecretsFileError) {
        var entries: [ChapSecretEntry] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let words: [String]
            do {
                words = try Self.split(String(rawLine))
            } catch {
                throw SecretsFileError(path: path, line: number, message: "unterminated quote")
            }
            if words.isEmpty { continue }
            guard words.count >= 3 else {
                throw SecretsFileError(
                    path: path,
                    line: number,
                    message: "expected 'client server secret [addresses]', found \(words.count) field(s)"
                )
            }
            let secret: StoredSecret
            let word = words[2]
            if word.lowercased().hasPrefix("nt:") {
                guard let bytes = parseHex(word.dropFirst(3)), bytes.count == 16,
                    let hash = try? NTPasswordHash(bytes: bytes)
                else {
                    throw SecretsFileError(
                        path: path,
                        line: number,
                        message: "an NT hash must be 'nt:' followed by 32 hexadecimal digits"
                    )
                }
                secret = .ntHash(hash)
            } else {
                secret = .password(word)
            }
            var restriction: ChapSecretEntry.AddressRestriction = .any
            let addressWords = words.dropFirst(3)
            if addressWords.contains("-") {
                restriction = .none
            } else if !addressWords.isEmpty && !addressWords.contains("*") {
                var fixed: [IPv4Address] = []
                for word in addressWords {
                    guard let address = IPv4Address(word) else {
                        throw SecretsFileError(path: path, line: number, message: "'\(word)' is not an IPv4 address")
                    }
                    fixed.append(address)
                }
                restriction = .fixed(fixed)
            }
            entries.append(
                ChapSecretEntry(
                    client: words[0],
                    server: words[1],
                    secret: secret,
                    addresses: restriction,
                    line: number
                )
            )
        }
        self.entries = entries
    }

    private struct UnterminatedQuote: Error {}

    static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var inQuotes = false
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                inWord = true
                continue
            }
            switch character {
            case "\\":
                escaped = true
            case "\"":
                inQuotes.toggle()
                inWord = true
            case "#" where !inQuotes:
                if inWord { words.append(current) }
                return words
            case " ", "\t", "\r":
                if inQuotes {
                    current.append(character)
                } else {
                    if inWord { words.append(current) }
                    current = ""
                    inWord = false
                }
            default:
                current.append(character)
                inWord = true
            }
        }
        if inQuotes { throw UnterminatedQuote() }
        if inWord { words.append(current) }
        return words
    }

    /// The entry for `user` on server `serverName`, as pppd chooses: an exact client match
    /// beats "*", an exact server match beats "*". The domain of `DOMAIN\user` is ignored when
    /// the full name has no entry (Windows sends it, notes/windows-peers.md §4).
    public func entry(forUser user: String, server serverName: String) -> ChapSecretEntry? {
        if let entry = bestEntry(user, serverName) { return entry }
        if let slash = user.lastIndex(of: "\\") {
            return bestEntry(String(user[user.index(after: slash)...]), serverName)
        }
        return nil
    }

    private func bestEntry(_ user: String, _ serverName: String) -> ChapSecretEntry? {
        var best: (score: Int, entry: ChapSecretEntry)?
        for entry in entries {
            guard entry.client == user || entry.client == "*" else { continue }
            guard entry.server == serverName || entry.server == "*" else { continue }
            let score = (entry.client == user ? 2 : 0) + (entry.server == serverName ? 1 : 0)
            if score > (best?.score ?? -1) { best = (score, entry) }
        }
        return best?.entry
    }
}

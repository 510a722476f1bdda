import MSCrypto

/// One entry of a `chap-secrets` file (pppd's format, so pptpd users can move over):
/// `client server secret [addresses…]`.
public struct ChapSecretEntry: Sendable, Equatable, CustomStringConvertible {
    /// The user name, or "*" for any.
    public var client: String
    /// The server name the entry is for, or "*".
    public var server: String
    public var secret: StoredSecret
    /// The addresses the user may have: `.any` for none given or "*", a list of fixed addresses,
    /// or `.none` for "-" (pppd: the user may not use IP).
    public var addresses: AddressRestriction
    /// The line in the file where the entry starts (for messages).
    public var line: Int

    public enum AddressRestriction: Sendable, Equatable {
        case any
        case fixed([IPv4Address])
        case none
    }

    public init(client: String, server: String, secret: StoredSecret, addresses: AddressRestriction, line: Int) {
        self.client = client
        self.server = server
        self.secret = secret
        self.addresses = addresses
        self.line = line
    }

    public var description: String { "\(client) \(server) <secret hidden> (line \(line))" }
}

/// A problem in a secrets file, with its location.
public struct SecretsFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var message: String

    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { "\(path):\(line): \(message)" }
}

/// The users in a `chap-secrets` file, read as pppd reads it (pppd(8) "AUTHENTICATION", options.c `getword`):
/// words separated by blanks, `"…"` or `'…'` quoting, backslash escapes (a backslash before the end of a line
/// continues the entry), `#` at the start of a word begins a comment, `*` is a wildcard client or server.
///
/// `pptp serve` and `pptp decode --secrets` read the same file through this one type. Besides pppd's clear-text
/// secrets, `nt:<32 hex digits>` is an NT hash (MD4 of the UTF-16LE password), so that no clear password has to
/// be stored; such users can log in with MS-CHAPv1/v2 and PAP, not CHAP-MD5.
public struct ChapSecrets: Sendable {
    public private(set) var entries: [ChapSecretEntry]
    /// What was wrong with the lines that are not entries (`lenient` only; `init(parsing:)` throws the first).
    public private(set) var problems: [SecretsFileError] = []

    public init(entries: [ChapSecretEntry]) { self.entries = entries }

    /// Parses the file text; the first malformed line (fewer than three words, a bad NT hash or address, an
    /// unterminated quote) is an error, as a server must not run with half its users.
    public init(parsing text: String, path: String = "chap-secrets") throws(SecretsFileError) {
        self = Self.lenient(text, path: path)
        if let first = problems.first { throw first }
    }

    /// Parses the file text, skipping malformed lines and keeping what was wrong with them in `problems` (pppd
    /// ignores lines with fewer than three words; a capture decoder reads what it can).
    public static func lenient(_ text: String, path: String = "chap-secrets") -> ChapSecrets {
        var secrets = ChapSecrets(entries: [])
        for (line, words, unterminated) in tokenize(text) {
            if unterminated {
                secrets.problems.append(SecretsFileError(path: path, line: line, message: "unterminated quote"))
                continue
            }
            switch entry(words, line: line, path: path) {
            case .success(let entry): secrets.entries.append(entry)
            case .failure(let problem): secrets.problems.append(problem)
            }
        }
        return secrets
    }

    private static func entry(_ words: [String], line: Int, path: String) -> Result<ChapSecretEntry, SecretsFileError> {
        guard words.count >= 3 else {
            return .failure(
                SecretsFileError(
                    path: path,
                    line: line,
                    message: "expected 'client server secret [addresses]', found \(words.count) field(s)"
                )
            )
        }
        let secret: StoredSecret
        let word = words[2]
        if word.lowercased().hasPrefix("nt:") {
            guard let bytes = parseHex(word.dropFirst(3)), bytes.count == 16,
                let hash = try? NTPasswordHash(bytes: bytes)
            else {
                return .failure(
                    SecretsFileError(
                        path: path,
                        line: line,
                        message: "an NT hash must be 'nt:' followed by 32 hexadecimal digits"
                    )
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
                    return .failure(
                        SecretsFileError(path: path, line: line, message: "'\(word)' is not an IPv4 address")
                    )
                }
                fixed.append(address)
            }
            restriction = .fixed(fixed)
        }
        return .success(
            ChapSecretEntry(client: words[0], server: words[1], secret: secret, addresses: restriction, line: line)
        )
    }

    /// The logical lines of the text as words: (first line number, words, whether a quote was left open).
    static func tokenize(_ text: String) -> [(line: Int, words: [String], unterminated: Bool)] {
        var result: [(line: Int, words: [String], unterminated: Bool)] = []
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        var inComment = false
        var lineNumber = 1
        var entryLine = 1

        func endWord() {
            if inWord { words.append(word) }
            word = ""
            inWord = false
        }
        func endLine(unterminated: Bool = false) {
            endWord()
            if !words.isEmpty || unterminated { result.append((entryLine, words, unterminated)) }
            words = []
        }
        for character in text {
            let newline = character == "\n" || character == "\r\n"
            if inComment {
                if newline {
                    inComment = false
                    endLine()
                    lineNumber += 1
                    entryLine = lineNumber
                }
                continue
            }
            if escaped {
                escaped = false
                if newline {
                    // A backslash before the end of a line continues the entry on the next line.
                    lineNumber += 1
                    continue
                }
                word.append(character)
                inWord = true
                continue
            }
            if character == "\\" && quote != "'" {
                escaped = true
                inWord = true
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if newline {
                    // A quote does not run past the end of its line: the entry is malformed.
                    quote = nil
                    word = ""
                    inWord = false
                    endLine(unterminated: true)
                    lineNumber += 1
                    entryLine = lineNumber
                } else {
                    word.append(character)
                }
                continue
            }
            switch character {
            case "\"", "'":
                quote = character
                inWord = true
            case "#" where !inWord:
                inComment = true
            case "\n", "\r\n":
                endLine()
                lineNumber += 1
                entryLine = lineNumber
            case " ", "\t", "\r":
                endWord()
            default:
                word.append(character)
                inWord = true
            }
        }
        if quote != nil {
            word = ""
            inWord = false
            endLine(unterminated: true)
        } else {
            endLine()
        }
        return result
    }

    /// The entry for `user` on server `serverName` (nil: any server), as pppd chooses: an exact client match
    /// beats "*", an exact server match beats "*". The domain of `DOMAIN\user` is ignored when the full name has
    /// no entry (Windows sends it, notes/windows-peers.md §4).
    public func entry(forUser user: String, server serverName: String?) -> ChapSecretEntry? {
        if let entry = bestEntry(user, serverName) { return entry }
        if let slash = user.lastIndex(of: "\\") {
            return bestEntry(String(user[user.index(after: slash)...]), serverName)
        }
        return nil
    }

    private func bestEntry(_ user: String, _ serverName: String?) -> ChapSecretEntry? {
        var best: (score: Int, entry: ChapSecretEntry)?
        for entry in entries {
            guard entry.client == user || entry.client == "*" else { continue }
            guard serverName.map({ entry.server == $0 || entry.server == "*" }) ?? true else { continue }
            let score = (entry.client == user ? 2 : 0) + (entry.server == serverName ? 1 : 0)
            if score > (best?.score ?? -1) { best = (score, entry) }
        }
        return best?.entry
    }
}

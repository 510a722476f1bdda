/// A `chap-secrets` file as pppd reads it (pppd(8), "AUTHENTICATION"): one entry per line,
/// `client server secret [acceptable local IP addresses …]`, words separated by blanks, `"…"` or `'…'` quoting,
/// backslash escapes, `#` comments, and `*` as a wildcard client or server.
///
/// pptpd's users move to our server with this file, and `pptp decode --secrets` reads the same file to decrypt
/// captured sessions.
public struct ChapSecrets: Hashable, Sendable {
    /// One line of the file.
    public struct Entry: Hashable, Sendable, CustomStringConvertible {
        /// The client (user) name, or `*`.
        public var client: String
        /// The server name, or `*`.
        public var server: String
        /// The secret. Never printed by `description`.
        public var secret: String
        /// The acceptable addresses, if any.
        public var addresses: [String]
        /// The line number, from 1.
        public var line: Int

        public var description: String {
            "\(client) \(server) <secret hidden> \(addresses.joined(separator: " "))"
        }
    }

    /// The entries in file order.
    public var entries: [Entry]

    /// Creates secrets from entries.
    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Parses the text of a secrets file. Lines with fewer than three words are ignored, as pppd ignores them.
    public init(parsing text: String) {
        var entries: [Entry] = []
        var lineNumber = 0
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character? = nil
        var escaped = false
        var inComment = false
        var entryLine = 1

        func endWord() {
            if inWord { words.append(word) }
            word = ""
            inWord = false
        }
        func endLine() {
            endWord()
            if words.count >= 3 {
                entries.append(
                    Entry(
                        client: words[0],
                        server: words[1],
                        secret: words[2],
                        addresses: Array(words.dropFirst(3)),
                        line: entryLine
                    )
                )
            }
            words = []
        }

        lineNumber = 1
        for character in text {
            if inComment {
                if character == "\n" || character == "\r\n" {
                    inComment = false
                    endLine()
                    lineNumber += 1
                    entryLine = lineNumber
                }
                continue
            }
            if escaped {
                escaped = false
                if character == "\n" || character == "\r\n" {
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
                } else {
                    if character == "\n" || character == "\r\n" { lineNumber += 1 }
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
        endLine()
        self.entries = entries
    }

    /// The entry for `client` authenticating to `server`: an exact match of both first, then a wildcard server,
    /// then a wildcard client. A client name with a Windows domain (`DOMAIN\user`) is also looked up without it.
    public func entry(client: String, server: String) -> Entry? {
        var names = [client]
        if let backslash = client.lastIndex(of: "\\") {
            names.append(String(client[client.index(after: backslash)...]))
        }
        for name in names {
            if let exact = entries.first(where: { $0.client == name && $0.server == server }) { return exact }
        }
        for name in names {
            if let anyServer = entries.first(where: { $0.client == name && $0.server == "*" }) { return anyServer }
        }
        for name in names {
            if let anyServer = entries.first(where: { $0.client == name }) { return anyServer }
        }
        return entries.first { $0.client == "*" && ($0.server == server || $0.server == "*") }
    }
}

import Foundation
import MSCrypto
import PPP
import Testing

/// One `chap-secrets` reader for `pptp serve` (strict: a bad line is an error naming it) and
/// `pptp decode --secrets` (lenient: bad lines skipped and said), as pppd reads the file.
@Suite struct ChapSecretsTests {
    @Test func parsesPppdFormatWithQuotesCommentsAndAddresses() throws {
        let text = """
            # client        server  secret                  IP addresses
            alice           pptpd   Alice-Secret-1          *
            "bob smith"     *       "pass with spaces"      203.0.113.50
            carol           pptpd   nt:8846F7EAEE8FB117AD06BDD830B7586C
            dave            *       x\\"y                   -
            """
        let secrets = try ChapSecrets(parsing: text)
        #expect(secrets.entries.count == 4)
        #expect(secrets.entry(forUser: "alice", server: "pptpd")?.secret == .password("Alice-Secret-1"))
        #expect(secrets.entry(forUser: "alice", server: "other") == nil)
        let bob = try #require(secrets.entry(forUser: "bob smith", server: "anything"))
        #expect(bob.secret == .password("pass with spaces"))
        #expect(bob.addresses == .fixed([IPv4Address(203, 0, 113, 50)]))
        // "password" hashes to 8846F7EAEE8FB117AD06BDD830B7586C.
        #expect(
            secrets.entry(forUser: "carol", server: "pptpd")?.secret == .ntHash(NTPasswordHash(password: "password"))
        )
        #expect(secrets.entry(forUser: "dave", server: "x")?.addresses == ChapSecretEntry.AddressRestriction.none)
        #expect(secrets.entry(forUser: "dave", server: "x")?.secret == .password("x\"y"))
    }

    @Test func exactMatchBeatsWildcardAndDomainIsStripped() throws {
        let secrets = try ChapSecrets(parsing: "* * any\nalice * mine\n")
        #expect(secrets.entry(forUser: "alice", server: "s")?.secret == .password("mine"))
        #expect(secrets.entry(forUser: "zed", server: "s")?.secret == .password("any"))
        #expect(secrets.entry(forUser: "CORP\\alice", server: "s")?.secret == .password("any"))
        let strict = try ChapSecrets(parsing: "alice * mine\n")
        #expect(strict.entry(forUser: "CORP\\alice", server: "s")?.secret == .password("mine"))
    }

    @Test func errorsNameTheLine() {
        #expect(
            throws: SecretsFileError(
                path: "f",
                line: 2,
                message: "expected 'client server secret [addresses]', found 2 field(s)"
            )
        ) {
            try ChapSecrets(parsing: "a b c\nonly two\n", path: "f")
        }
        #expect(throws: SecretsFileError.self) { try ChapSecrets(parsing: "a b nt:1234\n") }
        #expect(throws: SecretsFileError.self) { try ChapSecrets(parsing: "a b c 999.1.1.1\n") }
        #expect(throws: SecretsFileError.self) { try ChapSecrets(parsing: "a \"b c\n") }
    }
}

/// `chap-secrets` as pppd reads it.
@Suite struct ChapSecretsDecodeTests {
    @Test func parsesQuotesCommentsAndEscapes() {
        let secrets = ChapSecrets.lenient(
            """
            # Secrets for authentication using CHAP
            # client\tserver\tsecret\t\t\tIP addresses
            "alice" pptpd "Alice-Secret-1" *
            bob * 'two words' 198.51.100.2 198.51.100.3   # trailing comment
            carol\\ x pptpd pa\\"ss
            short line
            "DOMAIN\\\\dave" pptpd "d#not-a-comment"
            """
        )
        #expect(secrets.entries.count == 4)
        #expect(secrets.problems.map(\.line) == [6], "the short line is skipped, and said")
        #expect(secrets.entries[0].client == "alice" && secrets.entries[0].secret == .password("Alice-Secret-1"))
        #expect(secrets.entries[0].addresses == .any)
        #expect(
            secrets.entries[1].secret == .password("two words")
                && secrets.entries[1].addresses == .fixed([IPv4Address(198, 51, 100, 2), IPv4Address(198, 51, 100, 3)])
        )
        #expect(secrets.entries[2].client == "carol x" && secrets.entries[2].secret == .password("pa\"ss"))
        #expect(
            secrets.entries[3].client == "DOMAIN\\dave" && secrets.entries[3].secret == .password("d#not-a-comment")
        )
        #expect(secrets.entry(forUser: "bob", server: "pptpd")?.secret == .password("two words"))
        #expect(secrets.entry(forUser: "alice", server: "pptpd")?.secret == .password("Alice-Secret-1"))
        #expect(secrets.entry(forUser: "nobody", server: "pptpd") == nil)
        #expect(!secrets.entries[0].description.contains("Alice-Secret-1"))
    }
}

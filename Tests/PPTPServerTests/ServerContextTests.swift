import Glibc
import Logging
import PPP
import PPTP
import Testing

@testable import PPTPServer

@Suite struct ServerContextTests {
    static func context(hostName: String) throws -> ServerContext {
        var configuration = ServerConfiguration()
        configuration.hostName = hostName
        return ServerContext(
            configuration: configuration,
            backend: ChapSecretsBackend(try ChapSecrets(parsing: "alice * secret\n")),
            logger: Logger(label: "test")
        )
    }

    /// SCCRP carries the configured host name, or this machine's (RFC 2637 §2.2), never an empty field.
    @Test func sccrpHostNameIsConfiguredOrTheMachines() throws {
        #expect(try Self.context(hostName: "vpn.example.net").controlConfiguration.hostName == "vpn.example.net")
        var buffer = [CChar](repeating: 0, count: 256)
        #expect(gethostname(&buffer, 255) == 0)
        let machine = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(!machine.isEmpty)
        #expect(try Self.context(hostName: "").controlConfiguration.hostName == machine)
    }

    /// The chap-secrets backend: lookup and verification, with the user's address restriction.
    @Test func chapSecretsBackendDecidesFromTheFile() throws {
        let backend = ChapSecretsBackend(
            try ChapSecrets(
                parsing: "alice * Alice-Secret-1 203.0.113.50\nbob pptpd nt:8846F7EAEE8FB117AD06BDD830B7586C\n"
            )
        )
        func pap(_ user: String, _ password: String) -> AuthenticationRequest {
            AuthenticationRequest(userName: user, proof: .pap(password: Array(password.utf8)))
        }
        func accepted(_ decision: BackendDecision) -> Bool {
            if case .accept = decision.verdict { return true } else { return false }
        }
        let alice = backend.decideNow(pap("alice", "Alice-Secret-1"), server: "pptpd")
        #expect(accepted(alice))
        #expect(alice.addresses == .fixed([IPv4Address(203, 0, 113, 50)]) && alice.note == "ok")
        #expect(backend.decideNow(pap("alice", "wrong"), server: "pptpd").note == "wrong password or response")
        #expect(backend.decideNow(pap("carol", "x"), server: "pptpd").note == "unknown user")
        // An NT hash stored for bob ("password") checks a PAP password; the server name counts.
        #expect(accepted(backend.decideNow(pap("bob", "password"), server: "pptpd")))
        #expect(backend.decideNow(pap("bob", "password"), server: "other").note == "unknown user")
        backend.replace(try ChapSecrets(parsing: "carol * x\n"))
        #expect(accepted(backend.decideNow(pap("carol", "x"), server: "pptpd")))
    }
}

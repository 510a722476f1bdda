import NIOConcurrencyHelpers
import PPP

/// What an authentication backend says of one login.
public struct BackendDecision: Sendable, Equatable {
    public var verdict: AuthenticationVerdict
    /// The addresses the user may have: the secrets file's address column (RADIUS: Framed-IP-Address);
    /// the server assigns one from them or from its pool.
    public var addresses: ChapSecretEntry.AddressRestriction
    /// Why, in words, for the log ("unknown user", "wrong password or response").
    public var note: String

    public init(verdict: AuthenticationVerdict, addresses: ChapSecretEntry.AddressRestriction = .any, note: String) {
        self.verdict = verdict
        self.addresses = addresses
        self.note = note
    }
}

/// Answers PPP's authentication requests (`.verify`) for `pptp serve`: who the user is and whether
/// the proof holds. Lookup and verification live here; the server keeps the policy around it (limits,
/// back-off, address assignment). The chap-secrets file today, RADIUS next (DESIGN.md "Server").
public protocol AuthenticationBackend: Sendable {
    /// Decides `request` from `peer` for the server named `server` (the CHAP name). It may take time
    /// (a RADIUS round trip), so it is asynchronous; it must always answer.
    func decide(_ request: AuthenticationRequest, peer: IPv4Address, server: String) async -> BackendDecision
}

/// A backend that answers from memory: the server asks it at once, without a task.
public protocol ImmediateAuthenticationBackend: AuthenticationBackend {
    func decideNow(_ request: AuthenticationRequest, server: String) -> BackendDecision
}

/// Users from a `chap-secrets` file, which `replace` swaps atomically (a reload).
public final class ChapSecretsBackend: ImmediateAuthenticationBackend {
    private let box: NIOLockedValueBox<ChapSecrets>

    public init(_ secrets: ChapSecrets) { box = NIOLockedValueBox(secrets) }

    public var secrets: ChapSecrets { box.withLockedValue { $0 } }

    public func replace(_ secrets: ChapSecrets) { box.withLockedValue { $0 = secrets } }

    public func decide(_ request: AuthenticationRequest, peer: IPv4Address, server: String) async -> BackendDecision {
        decideNow(request, server: server)
    }

    /// The same decision, synchronously (the file is in memory).
    public func decideNow(_ request: AuthenticationRequest, server: String) -> BackendDecision {
        guard let entry = secrets.entry(forUser: request.userName, server: server) else {
            return BackendDecision(
                verdict: .reject(.authenticationFailure, message: "Access denied"),
                note: "unknown user"
            )
        }
        let outcome = CredentialVerifier.verify(request, secret: entry.secret)
        guard case .accept = outcome.verdict else {
            return BackendDecision(verdict: outcome.verdict, note: "wrong password or response")
        }
        return BackendDecision(verdict: outcome.verdict, addresses: entry.addresses, note: "ok")
    }
}

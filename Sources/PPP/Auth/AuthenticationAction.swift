import NIOCore

/// What an authentication machine asks of the session.
public enum AuthenticationAction: Hashable, Sendable {
    /// Send this PAP or CHAP packet.
    case send(PPPProtocolNumber, ControlPacket)
    /// Authenticator only: decide this request and answer with `receive(verdict:)`.
    case verify(AuthenticationRequest)
    /// Authentication is complete, with the MPPE key material when the method provides it
    /// (from this end's point of view).
    case succeeded(userName: String, method: AuthenticationMethod, keys: MPPEKeyMaterial?)
    /// Authentication failed for good.
    case failed(AuthenticationFailure)
    /// Peer only: the server accepted our new password (RFC 2759 §7).
    case passwordChanged
}

/// Timers of the authentication machines (pppd's `chap-restart`, `chap-max-challenge`,
/// `pap-restart`, `pap-max-authreq`).
public struct AuthenticationTimers: Hashable, Sendable {
    public var restartInterval: TimeAmount
    public var maxTransmissions: Int

    public init(restartInterval: TimeAmount = .seconds(3), maxTransmissions: Int = 10) {
        self.restartInterval = restartInterval
        self.maxTransmissions = maxTransmissions
    }
}

/// What a control protocol plugs into the RFC 1661 automaton: its option policy. The automaton
/// owns states, timers, identifiers and counters; the negotiator only decides what to request,
/// what to accept, what to Nak with and what to Reject (RFC 1661 §5.1–§5.4).
public protocol OptionNegotiator: Sendable {
    associatedtype Option: TypedConfigurationOption

    /// Starts a new negotiation: forget what the peer told us and what we learnt from its Naks.
    /// Called when the automaton sends a fresh Configure-Request from a state that was not
    /// negotiating (as pppd's `resetci`).
    mutating func resetNegotiation()

    /// The options of our next Configure-Request.
    func requestOptions() -> [Option]

    /// Evaluates the peer's Configure-Request (RFC 1661 §5.1): Ack it whole, Nak the options
    /// whose values we cannot accept (with values we can), or Reject the options we do not
    /// recognise or will not negotiate. Rejects take precedence over Naks (§5.3, §5.4).
    mutating func evaluateRequest(_ options: [Option]) -> RequestEvaluation<Option>

    /// Our request was acknowledged (the automaton has checked it is exactly what we sent).
    mutating func requestAcknowledged(_ options: [Option])

    /// The peer Nak'd our request: adjust what we ask for (RFC 1661 §5.3).
    mutating func requestNaked(_ options: [Option]) -> NegotiationStep

    /// The peer Rejected options of our request: stop asking for them (RFC 1661 §5.4).
    mutating func requestRejected(_ options: [Option]) -> NegotiationStep
}

/// The answer to a peer's Configure-Request.
public enum RequestEvaluation<Option: TypedConfigurationOption>: Hashable, Sendable {
    /// Configure-Ack with the request's options (RCR+).
    case ack
    /// Configure-Nak with these options and the values we want (RCR-).
    case nak([Option])
    /// Configure-Reject with these options, copied from the request (RCR-).
    case reject([Option])
}

/// What a negotiator makes of a Nak or Reject.
public enum NegotiationStep: Hashable, Sendable {
    /// Send the adjusted Configure-Request.
    case proceed
    /// The Nak or Reject is not valid for our request (an option we did not send): discard it,
    /// as RFC 1661 §5.4 says for a Reject that does not match.
    case invalid
    /// Negotiation cannot succeed: close the layer with this reason.
    case fail(NegotiationFailure)
}

/// Why a negotiation was given up: the reason carried by `.thisLayerFinished` and, through
/// the session, by `down(reason:)`.
public enum NegotiationFailure: Hashable, Sendable, CustomStringConvertible {
    /// The peer never answered our Configure-Requests (Max-Configure reached, RFC 1661 §4.6).
    case peerNotResponding(PPPProtocolNumber)
    /// Requests and Naks went back and forth without agreement.
    case notConverging(PPPProtocolNumber)
    /// The peer rejected the Authentication-Protocol option while we require authentication.
    case authenticationRefused
    /// The peer asks us to authenticate with a method our policy does not allow, and would not
    /// accept one that it does.
    case noCommonAuthenticationMethod(requested: AuthenticationProtocol)
    /// Our own Configure-Request came back: the link is looped back (RFC 1661 §6.4).
    case loopbackDetected
    /// MPPE is required but the peer rejected it or CCP.
    case encryptionRefused
    /// No MPPE key strength and mode acceptable to both sides.
    case noCommonEncryption(offered: MPPEOptions)
    /// The peer will not accept an address we can use, or has none for us.
    case addressRefused
    /// The peer rejected the whole protocol (LCP Protocol-Reject, or RXJ- of RFC 1661 §4.4).
    case protocolRejected(PPPProtocolNumber)
    /// CCP agreed on MPPE, but the peer Protocol-Rejects our encrypted frames (0x00FD): its
    /// decryption never started, so nothing we send can reach it.
    case encryptedFramesRejected

    public var description: String {
        switch self {
        case .peerNotResponding(let p): return "\(p): no response from peer"
        case .notConverging(let p): return "\(p): negotiation did not converge"
        case .authenticationRefused: return "peer refused to authenticate"
        case .noCommonAuthenticationMethod(let auth): return "peer wants \(auth), which our policy does not allow"
        case .loopbackDetected: return "the link appears to be looped back"
        case .encryptionRefused: return "MPPE is required but the peer refused it"
        case .noCommonEncryption(let offered): return "no common MPPE mode (peer offered <\(offered)>)"
        case .addressRefused: return "no IP address could be agreed"
        case .protocolRejected(let p): return "peer rejected \(p)"
        case .encryptedFramesRejected:
            return
                "the peer rejects our encrypted frames (LCP Protocol-Reject of protocol 0x00fd) although CCP agreed on MPPE: its decryption did not start"
        }
    }
}

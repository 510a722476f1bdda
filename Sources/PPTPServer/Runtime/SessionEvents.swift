import Logging
import NIOConcurrencyHelpers
import PPP
import PPTP
import PPTPNetwork

/// Who a session is, for the events that accounting, metrics and the log read.
public struct SessionDescription: Sendable, Equatable {
    public var key: SessionKey
    public var user: String?
    public var method: AuthenticationMethod?
    /// The address the client was given (once IPCP is up).
    public var address: IPv4Address?
    public var encryption: String?
}

/// Why a session ended, typed (the log words it).
public enum SessionEndReason: Sendable, Equatable, CustomStringConvertible {
    /// PPP said why (Terminate, echo time-out, authentication failure …).
    case ppp(PPPDownReason)
    /// The call went without PPP saying anything (Call-Clear-Request, the control connection closed).
    case callCleared

    public var description: String {
        switch self {
        case .ppp(let reason): return reason.description
        case .callCleared: return "call cleared"
        }
    }
}

/// What happens to sessions on a server, as events (not only log lines): accounting (RADIUS Start and
/// Stop), metrics and the log observe them.
public enum SessionEvent: Sendable, Equatable {
    /// IPCP is up: the session carries traffic.
    case started(SessionDescription)
    /// The session is gone, with its counters and how long it ran.
    case ended(SessionDescription, SessionStatistics, seconds: Double, reason: SessionEndReason, wasUp: Bool)
    /// A login was refused (a wrong password, an unknown user, a back-off), with the MS-CHAP code.
    case authenticationFailed(user: String, peer: IPv4Address, method: AuthenticationMethod, code: MSCHAPErrorCode)
}

/// Reads the session events of a server (on the event loop of the connection the session belongs to).
public protocol SessionObserver: Sendable {
    func observe(_ event: SessionEvent)
}

/// The observers of a server; events go to each in the order they were added.
final class SessionEvents: Sendable {
    private let observers = NIOLockedValueBox<[any SessionObserver]>([])

    func add(_ observer: any SessionObserver) { observers.withLockedValue { $0.append(observer) } }

    func publish(_ event: SessionEvent) {
        for observer in observers.withLockedValue({ $0 }) { observer.observe(event) }
    }
}

/// Every session start and end as one log line (README: user, peer, address, duration, bytes).
struct SessionLog: SessionObserver {
    let logger: Logger

    func observe(_ event: SessionEvent) {
        switch event {
        case .started(let session):
            logger.info(
                "session start: user \"\(session.user ?? "?")\" from \(session.key.peer) call \(session.key.callID) address \(session.address?.description ?? "-") auth \(session.method?.rawValue ?? "none")"
            )
        case .ended(let session, let statistics, let seconds, let reason, let wasUp):
            if wasUp {
                logger.info(
                    "session end: user \"\(session.user ?? "?")\" from \(session.key.peer) address \(session.address?.description ?? "-") duration \((seconds * 10).rounded() / 10) s, received \(statistics.bytesIn) bytes, sent \(statistics.bytesOut) bytes: \(reason)"
                )
            } else if case .ppp(.authenticationFailed) = reason {
                // Said once already, as a warning, when the verdict was given.
                logger.debug(
                    "call \(session.key.callID) from \(session.key.peer) ended before the network was up: \(reason)"
                )
            } else {
                logger.info(
                    "call \(session.key.callID) from \(session.key.peer) ended before the network was up: \(reason)"
                )
            }
        case .authenticationFailed:
            break  // the handler says it with the reason in words
        }
    }
}

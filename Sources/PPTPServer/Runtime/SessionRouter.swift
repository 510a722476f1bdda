import NIOConcurrencyHelpers
import NIOCore
import PPTPNetwork

/// Routes data-plane events to the control connection that owns the session, on that
/// connection's event loop.
final class SessionRouter: Sendable {
    private let handlers = NIOLockedValueBox<[SessionKey: NIOLoopBound<ControlConnectionHandler>]>([:])

    func register(_ key: SessionKey, _ handler: NIOLoopBound<ControlConnectionHandler>) {
        handlers.withLockedValue { $0[key] = handler }
    }

    func unregister(_ key: SessionKey) {
        handlers.withLockedValue { $0[key] = nil }
    }

    /// Called from the data-plane thread.
    func deliver(_ event: DataPlaneEvent, for key: SessionKey) {
        guard let handler = handlers.withLockedValue({ $0[key] }) else { return }
        handler.eventLoop.execute {
            handler.value.dataPlaneEvent(event, for: key)
        }
    }

    var count: Int { handlers.withLockedValue { $0.count } }
}

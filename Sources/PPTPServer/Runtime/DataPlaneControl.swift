import PPTPNetwork

/// What the control plane needs of a data plane: submit commands; events come back through the
/// handler given when the data plane is created. The real one runs a `SessionTable` on its own
/// thread over a TUN device and a raw GRE socket; tests can run one in memory.
public protocol DataPlaneControl: Sendable {
    func submit(_ command: DataPlaneCommand)
    /// Every session's counters and the data plane's own, published by the data-plane thread.
    func snapshot() async -> DataPlaneSnapshot
}

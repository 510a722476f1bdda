import PPTP

/// One PPTP control connection of a capture: its two ends as they described themselves (RFC 2637 §2.1, §2.2),
/// its message streams, keep-alives, stop and close.
struct ConnectionTracker: Sendable {
    let index: Int
    let key: TCPConnectionKey
    let sawHandshake: Bool
    let firstTime: CaptureTimestamp
    var lastTime: CaptureTimestamp
    var streams: [TCPDirection: ControlStream] = [:]
    var messages: [PeerSide: Int] = [:]
    var client: PeerReport
    var server: PeerReport
    var setup: String?
    var echo = EchoTracker()
    var stop: String?
    var closing: [String] = []
    var closed = false
    var calls: [Int] = []
    var problems: [String] = []

    init(index: Int, key: TCPConnectionKey, sawHandshake: Bool, time: CaptureTimestamp) {
        self.index = index
        self.key = key
        self.sawHandshake = sawHandshake
        self.firstTime = time
        self.lastTime = time
        self.client = PeerReport(address: key.client.description, port: key.clientPort)
        self.server = PeerReport(address: key.server.description, port: key.serverPort)
    }

    /// Records what `side` said about itself in its SCCRQ or SCCRP.
    mutating func update(
        _ side: PeerSide,
        hostName: String,
        vendor: String,
        firmware: UInt16,
        version: UInt16,
        framing: String,
        bearer: String,
        channels: UInt16
    ) {
        var peer = side == .client ? client : server
        peer.hostName = hostName
        peer.vendor = vendor
        peer.firmwareRevision = firmware
        peer.protocolVersion = ControlMessageText.version(version)
        peer.framing = framing
        peer.bearer = bearer
        peer.maximumChannels = channels
        if side == .client { client = peer } else { server = peer }
    }

    func report(start: CaptureTimestamp) -> ControlConnectionReport {
        ControlConnectionReport(
            index: index,
            client: client,
            server: server,
            sawHandshake: sawHandshake,
            startOffset: firstTime.seconds(since: start),
            endOffset: lastTime.seconds(since: start),
            messagesToServer: messages[.client] ?? 0,
            messagesToClient: messages[.server] ?? 0,
            setup: setup,
            echo: echo.report("PPTP Echo"),
            stop: stop,
            closed: closing.isEmpty
                ? (closed ? "closed" : "still open at the end of the capture") : closing.joined(separator: "; "),
            calls: calls,
            problems: problems
        )
    }
}

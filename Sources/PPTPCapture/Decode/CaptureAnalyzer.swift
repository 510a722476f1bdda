import NIOCore
import PPP
import PPTP

/// Follows every PPTP control connection and call of a capture through its life and builds a `DecodeReport`.
///
/// A sans-I/O engine: feed it the events of a `CaptureReader` in order with `receive(_:)`, then call
/// `finish(…)` once. It reads no file and no clock; everything it knows comes from the events and the options.
///
/// ```swift
/// var analyzer = CaptureAnalyzer(options: DecodeOptions(credentials: .password("Alice-Secret-1")))
/// var reader = CaptureReader(bytes: bytes)
/// while let event = reader.nextEvent() { analyzer.receive(event) }
/// let report = analyzer.finish(format: reader.format, statistics: reader.statistics, fileError: reader.fileError)
/// ```
///
/// Control messages are framed with `ControlStreamDecoder` per direction (RFC 2637 §2), calls are matched by
/// their Call IDs (§2.7–§2.11), GRE packets go to their call by the receiver's Call ID (§4.1) and are put back
/// into sequence order (§4.3) before PPP sees them, as a real receiver does.
public struct CaptureAnalyzer: Sendable {
    /// Problems reported one by one before they are only counted.
    static let maximumProblems = 200

    let options: DecodeOptions
    var connections: [ConnectionTracker] = []
    var connectionIndex: [TCPConnectionKey: Int] = [:]
    var calls: [CallTracker] = []
    /// GRE route: (source, destination, Call ID) → (call, direction).
    var routes: [GRERoute: (call: Int, direction: FlowDirection)] = [:]
    var timeline: [TimelineRecord] = []
    var problems: [ProblemReport] = []
    var problemsDropped = 0
    var inner: [InnerIPPacket] = []
    var statistics = StatisticsReport()
    var firstTime: CaptureTimestamp?
    var lastTime: CaptureTimestamp?
    var lastFrame = 0
    var order = 0

    struct GRERoute: Hashable, Sendable {
        var source: IPAddress
        var destination: IPAddress
        var callID: UInt16
    }

    /// Creates an analyser.
    public init(options: DecodeOptions = DecodeOptions()) {
        self.options = options
    }

    var context: AnalysisContext {
        // pppd and the Linux kernel change the key on every FLUSHED packet; Windows follows RFC 3078 §8.2.
        let vendors = connections.flatMap { [$0.client.vendor, $0.server.vendor] }.compactMap { $0?.lowercased() }
        let microsoft = vendors.contains { $0.contains("microsoft") }
        return AnalysisContext(options: options, preferLinuxResets: !microsoft)
    }

    // MARK: Events

    /// Processes one capture event.
    public mutating func receive(_ event: CaptureEvent) {
        let time = event.time
        firstTime = min(firstTime ?? time, time)
        lastTime = max(lastTime ?? time, time)
        lastFrame = max(lastFrame, event.frame)
        switch event {
        case .tcpOpened(let key, let opening, let frame, let time):
            let index = connections.count + 1
            connections.append(
                ConnectionTracker(index: index, key: key, sawHandshake: opening == .handshake, time: time)
            )
            connectionIndex[key] = index - 1
            line(
                frame: frame,
                time: time,
                connection: index,
                direction: .clientToServer,
                .tcpOpened(connection: index, key: key, handshake: opening == .handshake)
            )
        case .controlData(let key, let direction, let bytes, let frame, let time):
            controlData(key, direction, bytes, frame: frame, time: time)
        case .tcpGap(let key, let direction, let missing, let frame, let time):
            statistics.tcpGaps += 1
            statistics.tcpGapOctets += missing
            guard let index = connectionIndex[key] else { return }
            connections[index].streams[direction, default: ControlStream()].gap()
            finding(
                .tcpGap(missingOctets: missing, direction: direction),
                frame: frame,
                time: time,
                connection: index + 1,
                direction: Self.flow(direction)
            )
        case .tcpHalfClosed(let key, let direction, let frame, let time):
            guard let index = connectionIndex[key] else { return }
            let side: PeerSide = direction == .toServer ? .client : .server
            connections[index].closing.append("\(side) sent FIN")
            connections[index].lastTime = time
            endEvent(
                connection: index,
                .tcpFin,
                side: side,
                frame: frame,
                time: time,
                text: "\(side) closed the TCP control connection (FIN)"
            )
            line(
                frame: frame,
                time: time,
                connection: index + 1,
                direction: Self.flow(direction),
                .tcpHalfClosed(side: side)
            )
        case .tcpClosed(let key, let reason, let frame, let time):
            guard let index = connectionIndex[key] else { return }
            connections[index].lastTime = time
            switch reason {
            case .fin:
                connections[index].closing.append("closed by FIN in both directions")
                line(frame: frame, time: time, connection: index + 1, direction: nil, .tcpClosed(connection: index + 1))
            case .reset:
                connections[index].closing.append("reset (RST)")
                endEvent(
                    connection: index,
                    .tcpReset,
                    side: nil,
                    frame: frame,
                    time: time,
                    text: "the TCP control connection was reset (RST)"
                )
                line(frame: frame, time: time, connection: index + 1, direction: nil, .tcpReset(connection: index + 1))
            case .replaced:
                connections[index].closing.append("replaced by a new connection with the same ports")
            case .evicted:
                connections[index].closing.append("no longer followed (too many connections)")
            case .endOfCapture:
                connections[index].closing.append("still open at the end of the capture")
            }
            connections[index].closed = true
        case .gre(let source, let destination, let payload, let frames, let time):
            gre(
                source: source,
                destination: destination,
                payload: payload,
                frame: frames.last ?? event.frame,
                time: time
            )
        case .diagnostic(let diagnostic, let frame, let time):
            self.diagnostic(diagnostic, frame: frame, time: time)
        }
    }

    static func flow(_ direction: TCPDirection) -> FlowDirection {
        direction == .toServer ? .clientToServer : .serverToClient
    }

    mutating func diagnostic(_ diagnostic: CaptureDiagnostic, frame: Int, time: CaptureTimestamp) {
        switch diagnostic {
        case .malformed(let error):
            statistics.malformedFrames += 1
            problem(.warning, frame: frame, "frame \(frame) not decoded: \(error.explanation)")
        case .ipv4ChecksumMismatch(let source, let destination, let stored, let computed):
            problem(
                .warning,
                frame: frame,
                "frame \(frame): IPv4 header checksum 0x\(hex(stored, 4)) from \(source) to \(destination) should be 0x\(hex(computed, 4)) (used anyway)"
            )
        case .fragmentsAbandoned(let key, _, let frames):
            problem(
                .warning,
                frame: frame,
                "IP fragments of \(key.source) → \(key.destination) never completed (frames \(frames.map(String.init).joined(separator: ", "))): the datagram is lost"
            )
        case .fragmentHeld:
            statistics.ipFragments += 1
        case .duplicateFragment, .skipped:
            break
        }
    }

    // MARK: GRE

    mutating func gre(
        source: IPAddress,
        destination: IPAddress,
        payload: [UInt8],
        frame: Int,
        time: CaptureTimestamp
    ) {
        statistics.greDatagrams += 1
        let packet: GREPacket
        do {
            packet = try GREPacket(parsing: ByteBuffer(bytes: payload))
        } catch {
            statistics.greNotPPTP += 1
            finding(
                .greNotPPTP(source: source, destination: destination, error),
                frame: frame,
                time: time,
                connection: nil,
                direction: nil
            )
            return
        }
        let route = GRERoute(source: source, destination: destination, callID: packet.header.callID)
        let target: (call: Int, direction: FlowDirection)
        if let known = routes[route] {
            target = known
        } else {
            statistics.greUnmatched += 1
            target = orphan(route, time: time)
        }
        let context = self.context
        let output = calls[target.call - 1].receive(
            packet,
            direction: target.direction,
            frame: frame,
            time: time,
            context: context
        )
        absorb(output, call: target.call)
    }

    /// A call for GRE packets whose set-up was not captured: matched to another such call between the same
    /// addresses when the Call ID of that direction is still unknown.
    mutating func orphan(_ route: GRERoute, time: CaptureTimestamp) -> (call: Int, direction: FlowDirection) {
        for index in calls.indices where calls[index].kind == "unknown" {
            let call = calls[index]
            for side in PeerSide.allCases where call.callIDs[side] == nil {
                let destination = side == .client ? call.clientAddress : call.serverAddress
                let source = side == .client ? call.serverAddress : call.clientAddress
                if destination == route.destination && source == route.source {
                    assign(call: index + 1, side: side, callID: route.callID)
                    return (index + 1, side.other.sending)
                }
            }
        }
        // The client is the side that opened a control connection between these addresses, if one was seen.
        let connection = connections.firstIndex {
            ($0.key.client == route.source && $0.key.server == route.destination)
                || ($0.key.client == route.destination && $0.key.server == route.source)
        }
        let client = connection.map { connections[$0].key.client } ?? route.source
        let server = connection.map { connections[$0].key.server } ?? route.destination
        let index = calls.count + 1
        calls.append(
            CallTracker(
                index: index,
                connection: connection.map { $0 + 1 },
                kind: "unknown",
                client: client,
                server: server,
                time: time,
                options: options
            )
        )
        if let connection { connections[connection].calls.append(index) }
        let side: PeerSide = route.destination == client ? .client : .server
        assign(call: index, side: side, callID: route.callID)
        let text =
            "GRE for Call ID 0x\(hex(route.callID, 4)) (\(route.source) > \(route.destination)) whose call set-up was not captured: followed as call \(index)"
        problem(.warning, frame: nil, text)
        return (index, side.other.sending)
    }

    mutating func absorb(_ output: CallTracker.Output, call: Int) {
        for entry in output.lines {
            line(
                frame: entry.frame,
                time: entry.time,
                connection: calls[call - 1].connection,
                call: call,
                direction: entry.direction,
                gre: entry.gre,
                entry.event
            )
        }
        inner += output.inner
        for item in output.problems { problem(item.severity, frame: item.frame, item.text) }
    }

    // MARK: Output helpers

    /// Records a timeline event; the report words it (`ReportRenderer.words(_:)`).
    mutating func line(
        frame: Int,
        time: CaptureTimestamp,
        connection: Int?,
        call: Int? = nil,
        direction: FlowDirection?,
        gre: GREFields? = nil,
        _ event: TimelineEvent
    ) {
        guard options.buildTimeline else { return }
        order += 1
        timeline.append(
            TimelineRecord(
                frame: frame,
                time: time,
                offset: time.seconds(since: firstTime ?? time),
                connection: connection,
                call: call,
                direction: direction,
                gre: gre,
                event: event,
                order: order
            )
        )
    }

    /// A finding: a problem of the report (unless it is only news) and a line of the timeline.
    mutating func finding(
        _ finding: Finding,
        frame: Int,
        time: CaptureTimestamp,
        connection: Int?,
        call: Int? = nil,
        direction: FlowDirection?
    ) {
        if let severity = finding.severity { problem(severity, frame: frame, ReportRenderer.words(finding)) }
        line(frame: frame, time: time, connection: connection, call: call, direction: direction, .finding(finding))
    }

    /// A finding about a control stream, also kept with its connection.
    mutating func streamFinding(
        _ finding: Finding,
        sender: PeerSide,
        connection index: Int,
        frame: Int,
        time: CaptureTimestamp
    ) {
        connections[index].problems.append(ReportRenderer.words(finding))
        self.finding(finding, frame: frame, time: time, connection: index + 1, direction: sender.sending)
    }

    mutating func problem(_ severity: ProblemSeverity, frame: Int?, _ text: String) {
        guard problems.count < Self.maximumProblems else {
            problemsDropped += 1
            return
        }
        problems.append(ProblemReport(severity: severity, frame: frame, text: text))
    }
}

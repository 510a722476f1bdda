import NIOCore

/// Follows the TCP connections on the control ports and turns their segments into in-order stream events.
///
/// The server is the control-port side: the destination of a SYN, the source of a SYN-ACK, or otherwise the side
/// whose port is a control port (the destination when both are). Closed connections stay in the table, so that
/// late ACKs and retransmitted FINs do not open a phantom connection, until a new SYN replaces them or the table
/// is full.
struct ControlConnectionTracker: Sendable {
    private let configuration: CaptureConfiguration
    private var connections: [TCPConnectionKey: Connection] = [:]
    /// Counts segments; orders connections by creation and by last activity.
    private var tick = 0
    private(set) var statistics = TCPStatistics()

    private struct Connection: Sendable {
        var key: TCPConnectionKey
        var toServer: TCPStreamReassembler
        var toClient: TCPStreamReassembler
        var isClosed = false
        /// Order of creation, for deterministic output at the end of the capture.
        var opening: Int
        /// Order of the last segment, for eviction.
        var lastActivity: Int
    }

    init(configuration: CaptureConfiguration) {
        self.configuration = configuration
    }

    /// `true` when a segment between these ports belongs to a control connection.
    func isControl(sourcePort: UInt16, destinationPort: UInt16) -> Bool {
        configuration.controlPorts.contains(sourcePort) || configuration.controlPorts.contains(destinationPort)
    }

    /// Counts a TCP segment on other ports, which is not followed.
    mutating func countOtherSegment() {
        statistics.otherSegments += 1
    }

    /// Takes one control-port segment carried from `source` to `destination`.
    mutating func receive(
        _ segment: TCPSegment,
        source: IPAddress,
        destination: IPAddress,
        frame: Int,
        time: CaptureTimestamp
    ) -> [CaptureEvent] {
        statistics.controlSegments += 1
        if segment.payload.readableBytes > 0 { statistics.controlSegmentsWithPayload += 1 }
        tick += 1
        let activity = tick
        var events: [CaptureEvent] = []

        let forward = TCPConnectionKey(
            client: source,
            clientPort: segment.sourcePort,
            server: destination,
            serverPort: segment.destinationPort
        )
        let backward = TCPConnectionKey(
            client: destination,
            clientPort: segment.destinationPort,
            server: source,
            serverPort: segment.sourcePort
        )
        let isSYN = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        var key = connections[forward] != nil ? forward : connections[backward] != nil ? backward : nil

        if let existing = key, var connection = connections[existing], isSYN, existing == forward {
            // A SYN from the client: a retransmission if it repeats the ISN, otherwise a new connection reusing
            // the same addresses and ports.
            if connection.toServer.initialSequenceNumber != segment.sequenceNumber {
                if !connection.isClosed {
                    events += flush(&connection, frame: frame, time: time)
                    events.append(.tcpClosed(connection: existing, reason: .replaced, frame: frame, time: time))
                }
                connections[existing] = nil
                key = nil
            }
        }

        if key == nil {
            if segment.flags.contains(.rst) {
                // A reset for a connection never seen opens nothing.
                return events
            }
            let serverIsDestination: Bool
            if segment.flags.contains(.syn) {
                serverIsDestination = isSYN
            } else {
                serverIsDestination = configuration.controlPorts.contains(segment.destinationPort)
            }
            let newKey = serverIsDestination ? forward : backward
            events += makeRoom(frame: frame, time: time)
            connections[newKey] = Connection(
                key: newKey,
                toServer: TCPStreamReassembler(
                    maximumBufferedBytes: configuration.maximumBufferedBytesPerDirection,
                    maximumBufferedSegments: configuration.maximumBufferedSegmentsPerDirection
                ),
                toClient: TCPStreamReassembler(
                    maximumBufferedBytes: configuration.maximumBufferedBytesPerDirection,
                    maximumBufferedSegments: configuration.maximumBufferedSegmentsPerDirection
                ),
                opening: activity,
                lastActivity: activity
            )
            statistics.connections += 1
            let opening: TCPOpening = segment.flags.contains(.syn) ? .handshake : .midStream
            events.append(.tcpOpened(connection: newKey, opening: opening, frame: frame, time: time))
            key = newKey
        }
        guard let key, var connection = connections[key] else { return events }
        connection.lastActivity = activity
        guard !connection.isClosed else {
            statistics.segmentsAfterClose += 1
            connections[key] = connection
            if configuration.reportSkippedFrames {
                events.append(.diagnostic(.skipped(.tcpAfterClose), frame: frame, time: time))
            }
            return events
        }
        let direction: TCPDirection =
            source == key.client && segment.sourcePort == key.clientPort ? .toServer : .toClient

        if segment.flags.contains(.rst) {
            // RFC 9293 §3.10.7.4: a reset ends the connection. Data still held is given up and flushed first.
            events += flush(&connection, frame: frame, time: time)
            connection.isClosed = true
            connections[key] = connection
            events.append(.tcpClosed(connection: key, reason: .reset, frame: frame, time: time))
            return events
        }

        let outputs: [TCPStreamReassembler.Output]
        let before: TCPStreamReassembler.Statistics
        switch direction {
        case .toServer:
            before = connection.toServer.statistics
            outputs = connection.toServer.receive(
                sequenceNumber: segment.sequenceNumber,
                syn: segment.flags.contains(.syn),
                fin: segment.flags.contains(.fin),
                payload: Array(segment.payload.readableBytesView)
            )
            count(from: before, to: connection.toServer.statistics)
        case .toClient:
            before = connection.toClient.statistics
            outputs = connection.toClient.receive(
                sequenceNumber: segment.sequenceNumber,
                syn: segment.flags.contains(.syn),
                fin: segment.flags.contains(.fin),
                payload: Array(segment.payload.readableBytesView)
            )
            count(from: before, to: connection.toClient.statistics)
        }
        events += self.events(outputs, key, direction, frame: frame, time: time)
        if connection.toServer.isFinished, connection.toClient.isFinished {
            connection.isClosed = true
            events.append(.tcpClosed(connection: key, reason: .fin, frame: frame, time: time))
        }
        connections[key] = connection
        return events
    }

    /// Ends every open connection at the end of the capture, flushing data held behind holes.
    mutating func finish(frame: Int, time: CaptureTimestamp) -> [CaptureEvent] {
        var events: [CaptureEvent] = []
        for (key, var connection) in connections.sorted(by: { $0.value.opening < $1.value.opening })
        where !connection.isClosed {
            events += flush(&connection, frame: frame, time: time)
            connection.isClosed = true
            connections[key] = connection
            events.append(.tcpClosed(connection: key, reason: .endOfCapture, frame: frame, time: time))
        }
        return events
    }

    // MARK: Internals

    private mutating func flush(_ connection: inout Connection, frame: Int, time: CaptureTimestamp) -> [CaptureEvent] {
        let toServerBefore = connection.toServer.statistics
        let toServer = connection.toServer.flush()
        count(from: toServerBefore, to: connection.toServer.statistics)
        let toClientBefore = connection.toClient.statistics
        let toClient = connection.toClient.flush()
        count(from: toClientBefore, to: connection.toClient.statistics)
        return events(toServer, connection.key, .toServer, frame: frame, time: time)
            + events(toClient, connection.key, .toClient, frame: frame, time: time)
    }

    /// Keeps the table within `maximumConnections` by evicting the least recently active connection, closed
    /// ones first.
    private mutating func makeRoom(frame: Int, time: CaptureTimestamp) -> [CaptureEvent] {
        guard connections.count >= configuration.maximumConnections else { return [] }
        let victim =
            connections.values.filter(\.isClosed).min { $0.lastActivity < $1.lastActivity }
            ?? connections.values.min { $0.lastActivity < $1.lastActivity }
        guard var connection = victim else { return [] }
        connections[connection.key] = nil
        guard !connection.isClosed else { return [] }
        return flush(&connection, frame: frame, time: time)
            + [.tcpClosed(connection: connection.key, reason: .evicted, frame: frame, time: time)]
    }

    private mutating func count(from before: TCPStreamReassembler.Statistics, to after: TCPStreamReassembler.Statistics)
    {
        statistics.duplicateBytes += after.duplicateBytes - before.duplicateBytes
        statistics.outOfOrderSegments += after.outOfOrderSegments - before.outOfOrderSegments
        statistics.gaps += after.gaps - before.gaps
        statistics.gapBytes += after.gapBytes - before.gapBytes
    }

    private mutating func events(
        _ outputs: [TCPStreamReassembler.Output],
        _ key: TCPConnectionKey,
        _ direction: TCPDirection,
        frame: Int,
        time: CaptureTimestamp
    ) -> [CaptureEvent] {
        outputs.map { output in
            switch output {
            case .data(let bytes):
                switch direction {
                case .toServer: statistics.bytesToServer += bytes.count
                case .toClient: statistics.bytesToClient += bytes.count
                }
                return .controlData(connection: key, direction: direction, bytes: bytes, frame: frame, time: time)
            case .gap(let missing):
                return .tcpGap(connection: key, direction: direction, missingBytes: missing, frame: frame, time: time)
            case .fin:
                return .tcpHalfClosed(connection: key, direction: direction, frame: frame, time: time)
            }
        }
    }
}

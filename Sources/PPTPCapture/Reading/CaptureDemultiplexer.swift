import NIOCore

/// Turns capture frames into PPTP-relevant events: control connection streams (TCP to or from a control port,
/// reassembled in both directions) and GRE datagrams (protocol 47, after IP fragment reassembly), with
/// diagnostics and statistics for everything else.
///
/// A sans-I/O engine: feed it frames in file order with `receive(_:)`, then call `finish()` once at the end of the
/// capture to flush what is still held. Time is the frames' capture time; nothing is read from a clock.
public struct CaptureDemultiplexer: Sendable {
    /// What is followed and how much is held.
    public let configuration: CaptureConfiguration
    /// Counters so far (fragment and TCP counters included).
    public var statistics: CaptureStatistics {
        var result = counters
        result.fragments = fragments.statistics
        result.tcp = tracker.statistics
        return result
    }

    private var counters = CaptureStatistics()
    private var fragments: FragmentReassembler
    private var tracker: ControlConnectionTracker
    private var lastFrame = 0
    private var lastTime = CaptureTimestamp.zero
    private var finished = false

    /// Creates a demultiplexer.
    public init(configuration: CaptureConfiguration = .init()) {
        self.configuration = configuration
        self.fragments = FragmentReassembler(configuration: configuration.fragmentReassembly)
        self.tracker = ControlConnectionTracker(configuration: configuration)
    }

    /// Decodes one frame and returns the events it produced.
    public mutating func receive(_ frame: CaptureFrame) -> [CaptureEvent] {
        guard !finished else { return [] }
        counters.frames += 1
        counters.framesByLinkType[frame.linkType, default: 0] += 1
        lastFrame = frame.number
        lastTime = frame.timestamp
        var context = FrameContext(number: frame.number, time: frame.timestamp)
        do {
            switch try LinkLayer.decapsulate(frame.data, linkType: frame.linkType) {
            case .ipv4(let packet):
                try receiveIPv4(packet, &context)
            case .ipv6(let packet):
                try receiveIPv6(packet, &context)
            case .notIP(let type):
                counters.nonIPFrames[type, default: 0] += 1
                skip(.notIP(type), &context)
            case .unknownAddressFamily(let family):
                counters.unsupportedFrames += 1
                skip(.unknownAddressFamily(family), &context)
            case .unsupportedLinkType(let type):
                counters.unsupportedFrames += 1
                skip(.unsupportedLinkType(type), &context)
            }
        } catch {
            counters.malformedFrames += 1
            context.diagnose(.malformed(error))
        }
        return context.events
    }

    /// Ends the capture: datagrams still under reassembly are reported as abandoned, and every open control
    /// connection is flushed (holes given up) and closed with `.endOfCapture`. Later calls return nothing.
    public mutating func finish() -> [CaptureEvent] {
        guard !finished else { return [] }
        finished = true
        var context = FrameContext(number: lastFrame, time: lastTime)
        for abandoned in fragments.finish() {
            context.diagnose(.fragmentsAbandoned(abandoned.key, reason: abandoned.reason, frames: abandoned.frames))
        }
        context.events += tracker.finish(frame: lastFrame, time: lastTime)
        return context.events
    }

    // MARK: IP

    /// The frame being decoded and the events it has produced so far.
    private struct FrameContext {
        var number: Int
        var time: CaptureTimestamp
        var events: [CaptureEvent] = []

        mutating func diagnose(_ diagnostic: CaptureDiagnostic) {
            events.append(.diagnostic(diagnostic, frame: number, time: time))
        }
    }

    private mutating func skip(_ reason: SkipReason, _ context: inout FrameContext) {
        if configuration.reportSkippedFrames { context.diagnose(.skipped(reason)) }
    }

    private mutating func receiveIPv4(_ bytes: ByteBuffer, _ context: inout FrameContext) throws(CaptureError) {
        let packet = try IPv4Packet(parsing: bytes)
        let header = packet.header
        counters.ipv4Packets += 1
        if !packet.hasValidChecksum {
            counters.ipv4ChecksumErrors += 1
            context.diagnose(
                .ipv4ChecksumMismatch(
                    source: header.source,
                    destination: header.destination,
                    stored: header.headerChecksum,
                    computed: packet.computedChecksum
                )
            )
            if configuration.dropIPv4ChecksumErrors {
                skip(.ipv4ChecksumError, &context)
                return
            }
        }
        guard header.isFragment else {
            try receiveDatagram(
                source: header.source,
                destination: header.destination,
                payloadProtocol: header.payloadProtocol,
                payload: packet.payload,
                frames: [context.number],
                &context
            )
            return
        }
        let key = FragmentKey(
            source: header.source,
            destination: header.destination,
            ipv4Protocol: header.payloadProtocol,
            identification: UInt32(header.identification)
        )
        try receiveFragment(
            key: key,
            offset: header.fragmentOffset,
            moreFragments: header.moreFragments,
            payloadProtocol: header.payloadProtocol,
            data: packet.payload,
            &context
        )
    }

    private mutating func receiveIPv6(_ bytes: ByteBuffer, _ context: inout FrameContext) throws(CaptureError) {
        let packet = try IPv6Packet(parsing: bytes)
        counters.ipv6Packets += 1
        guard let fragment = packet.fragment else {
            try receiveDatagram(
                source: packet.source,
                destination: packet.destination,
                payloadProtocol: packet.payloadProtocol,
                payload: packet.payload,
                frames: [context.number],
                &context
            )
            return
        }
        let key = FragmentKey(
            source: packet.source,
            destination: packet.destination,
            ipv4Protocol: nil,
            identification: fragment.identification
        )
        try receiveFragment(
            key: key,
            offset: fragment.offset,
            moreFragments: fragment.moreFragments,
            payloadProtocol: fragment.nextHeader,
            data: packet.payload,
            &context
        )
    }

    private mutating func receiveFragment(
        key: FragmentKey,
        offset: Int,
        moreFragments: Bool,
        payloadProtocol: IPProtocol,
        data: ByteBuffer,
        _ context: inout FrameContext
    ) throws(CaptureError) {
        if configuration.reportFragments {
            context.diagnose(.fragmentHeld(key, offset: offset, moreFragments: moreFragments))
        }
        let (outcome, expired) = fragments.receive(
            key: key,
            offset: offset,
            moreFragments: moreFragments,
            payloadProtocol: payloadProtocol,
            data: data,
            frame: context.number,
            time: context.time
        )
        for abandoned in expired {
            context.diagnose(.fragmentsAbandoned(abandoned.key, reason: abandoned.reason, frames: abandoned.frames))
        }
        switch outcome {
        case .held:
            break
        case .duplicate:
            context.diagnose(.duplicateFragment(key))
        case .abandoned(let abandoned):
            context.diagnose(.fragmentsAbandoned(abandoned.key, reason: abandoned.reason, frames: abandoned.frames))
        case .reassembled(let datagram):
            var payload = datagram.payload
            var payloadProtocol = datagram.payloadProtocol
            if key.isIPv6 {
                // RFC 8200 §4.5: the fragmentable part may start with more extension headers.
                var walked: [IPProtocol] = []
                (payloadProtocol, _) = try IPv6Packet.walkExtensionHeaders(
                    from: payloadProtocol,
                    &payload,
                    walked: &walked,
                    allowFragmentHeader: false
                )
            }
            try receiveDatagram(
                source: key.source,
                destination: key.destination,
                payloadProtocol: payloadProtocol,
                payload: payload,
                frames: datagram.frames,
                &context
            )
        }
    }

    // MARK: Upper layers

    private mutating func receiveDatagram(
        source: IPAddress,
        destination: IPAddress,
        payloadProtocol: IPProtocol,
        payload: ByteBuffer,
        frames: [Int],
        _ context: inout FrameContext
    ) throws(CaptureError) {
        counters.ipDatagrams += 1
        counters.datagramsByProtocol[payloadProtocol, default: 0] += 1
        switch payloadProtocol {
        case .gre:
            counters.greDatagrams += 1
            context.events.append(
                .gre(
                    source: source,
                    destination: destination,
                    payload: Array(payload.readableBytesView),
                    frames: frames,
                    time: context.time
                )
            )
        case .tcp:
            let segment = try TCPSegment(parsing: payload)
            guard tracker.isControl(sourcePort: segment.sourcePort, destinationPort: segment.destinationPort) else {
                tracker.countOtherSegment()
                skip(
                    .tcpNotOnControlPort(sourcePort: segment.sourcePort, destinationPort: segment.destinationPort),
                    &context
                )
                return
            }
            context.events += tracker.receive(
                segment,
                source: source,
                destination: destination,
                frame: context.number,
                time: context.time
            )
        default:
            skip(.otherProtocol(payloadProtocol), &context)
        }
    }
}

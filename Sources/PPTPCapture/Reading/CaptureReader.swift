import NIOCore

/// Reads a capture file and hands out its events in frame order: the `CaptureFileReader` and the
/// `CaptureDemultiplexer` composed.
///
/// When the file is damaged or truncated, the events of every frame before the damage are still produced (then
/// the end-of-capture flush), and `fileError` says what went wrong:
///
/// ```swift
/// var reader = CaptureReader(bytes: try CaptureFile.read(path: path))
/// while let event = reader.nextEvent() { … }
/// if let error = reader.fileError { … }   // the file was damaged; the events above are what could be read
/// ```
public struct CaptureReader: Sendable {
    private var file: CaptureFileReader
    private var demultiplexer: CaptureDemultiplexer
    private var pending: [CaptureEvent] = []
    private var pendingIndex = 0
    private var done = false

    /// Creates a reader over the bytes of a pcap or pcapng file.
    public init(bytes: ByteBuffer, configuration: CaptureConfiguration = .init()) {
        self.file = CaptureFileReader(bytes: bytes)
        self.demultiplexer = CaptureDemultiplexer(configuration: configuration)
    }

    /// Creates a reader over the bytes of a pcap or pcapng file.
    public init(bytes: [UInt8], configuration: CaptureConfiguration = .init()) {
        self.init(bytes: ByteBuffer(bytes: bytes), configuration: configuration)
    }

    /// Reads the file at `path` into memory and creates a reader over it.
    public init(path: String, configuration: CaptureConfiguration = .init()) throws(CaptureError) {
        self.init(bytes: try CaptureFile.read(path: path), configuration: configuration)
    }

    /// The container format, once known.
    public var format: CaptureFileFormat? { file.format }
    /// The damage that ended reading early, if any; final once `nextEvent()` has returned `nil`.
    public var fileError: CaptureError? { file.error }
    /// Counters so far.
    public var statistics: CaptureStatistics { demultiplexer.statistics }

    /// Returns the next event, or `nil` once the file (or its readable part) is exhausted and flushed.
    public mutating func nextEvent() -> CaptureEvent? {
        // Frames that produce no event are skipped; each iteration reads a frame or ends, so this loop ends.
        while pendingIndex == pending.count {
            guard !done else { return nil }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if let frame = try? file.nextFrame() {
                pending = demultiplexer.receive(frame)
            } else {
                done = true
                pending = demultiplexer.finish()
            }
        }
        let event = pending[pendingIndex]
        pendingIndex += 1
        return event
    }

    /// Everything read from one capture.
    public struct Result: Hashable, Sendable {
        /// The container format, `nil` when even its header was damaged.
        public var format: CaptureFileFormat?
        /// Every event, in frame order.
        public var events: [CaptureEvent]
        /// Counters over the whole capture.
        public var statistics: CaptureStatistics
        /// The damage that ended reading early, or `nil` when the file was read to its end.
        public var error: CaptureError?
    }

    /// Reads every event of a capture held in memory.
    public static func readAll(_ bytes: ByteBuffer, configuration: CaptureConfiguration = .init()) -> Result {
        var reader = CaptureReader(bytes: bytes, configuration: configuration)
        var events: [CaptureEvent] = []
        while let event = reader.nextEvent() {
            events.append(event)
        }
        return Result(format: reader.format, events: events, statistics: reader.statistics, error: reader.fileError)
    }

    /// Reads every event of a capture held in memory.
    public static func readAll(_ bytes: [UInt8], configuration: CaptureConfiguration = .init()) -> Result {
        readAll(ByteBuffer(bytes: bytes), configuration: configuration)
    }

    /// Reads every event of the capture file at `path`. Throws only when the file cannot be read at all; damage
    /// inside it is reported in `Result.error`.
    public static func readAll(
        path: String,
        configuration: CaptureConfiguration = .init()
    ) throws(CaptureError) -> Result {
        readAll(try CaptureFile.read(path: path), configuration: configuration)
    }
}

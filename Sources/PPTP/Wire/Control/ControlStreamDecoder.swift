import NIOCore

/// Splits the TCP byte stream of a control connection into control messages.
///
/// Handles partial reads, several messages in one read and a peer that sends one octet at a
/// time. Buffering is bounded: it never holds more than one maximum-size message plus one read,
/// because complete messages are consumed as soon as they are framed, and a length field that
/// lies (below the header, above the largest message, or a bad Magic Cookie) is reported at once
/// instead of waiting for bytes that will never make sense.
public struct ControlStreamDecoder: Sendable {
    /// One result of decoding.
    public enum Output: Hashable, Sendable {
        /// A well-formed message.
        case message(ControlMessage)
        /// A message that was framed correctly but could not be accepted (unknown type, wrong
        /// length for its type, …). It has been consumed; the stream is still in sync.
        case rejected(PPTPWireError)
    }

    private var buffer: ByteBuffer
    /// Set once the stream lost its framing; nothing more is decoded.
    public private(set) var failure: PPTPWireError?
    /// The octets held when the framing was lost, from the header that failed on: what a decoder of a
    /// capture hunts through for the next message (a live peer closes the connection instead).
    public private(set) var unframedOctets: [UInt8] = []

    public init() {
        self.buffer = ByteBuffer()
    }

    /// The octets received but not yet part of a complete message.
    public var bufferedBytes: Int { buffer.readableBytes }

    /// Appends bytes received from TCP (dropped once the stream has failed).
    public mutating func append(_ bytes: ByteBuffer) {
        guard failure == nil else { return }
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// Appends bytes received from TCP (dropped once the stream has failed).
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        guard failure == nil else { return }
        buffer.writeBytes(bytes)
    }

    /// The next decoded message, `nil` when more bytes are needed. Throws (and keeps throwing)
    /// once the stream has lost its framing (RFC 2637 §1.4: the connection must be closed).
    public mutating func next() throws(PPTPWireError) -> Output? {
        if let failure { throw failure }
        let start = buffer.readerIndex
        do {
            guard let message = try ControlMessage.read(from: &buffer) else {
                compactIfWorthIt()
                return nil
            }
            return .message(message)
        } catch {
            if error.isFatalToStream {
                failure = error
                unframedOctets = buffer.getBytes(at: start, length: buffer.writerIndex - start) ?? []
                buffer.clear()
                throw error
            }
            return .rejected(error)
        }
    }

    /// Drains every complete message currently buffered.
    public mutating func drain() throws(PPTPWireError) -> [Output] {
        var outputs: [Output] = []
        while let output = try next() { outputs.append(output) }
        return outputs
    }

    private mutating func compactIfWorthIt() {
        if buffer.readerIndex > 1024 { buffer.discardReadBytes() }
    }
}

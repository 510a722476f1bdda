import NIOCore

/// The TCP control bits (RFC 9293 §3.1, RFC 3168 for CWR and ECE).
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// No more data from sender.
    public static let fin = TCPFlags(rawValue: 0x001)
    /// Synchronize sequence numbers.
    public static let syn = TCPFlags(rawValue: 0x002)
    /// Reset the connection.
    public static let rst = TCPFlags(rawValue: 0x004)
    /// Push function.
    public static let psh = TCPFlags(rawValue: 0x008)
    /// Acknowledgment field is significant.
    public static let ack = TCPFlags(rawValue: 0x010)
    /// Urgent pointer field is significant.
    public static let urg = TCPFlags(rawValue: 0x020)
    /// ECN-Echo.
    public static let ece = TCPFlags(rawValue: 0x040)
    /// Congestion Window Reduced.
    public static let cwr = TCPFlags(rawValue: 0x080)

    /// The set flags in tcpdump order, e.g. `[SYN, ACK]` prints as `SA`.
    public var description: String {
        let names: [(TCPFlags, String)] = [
            (.syn, "S"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.ack, "A"), (.urg, "U"), (.ece, "E"), (.cwr, "C"),
        ]
        let text = names.filter { contains($0.0) }.map(\.1).joined()
        return text.isEmpty ? "." : text
    }
}

/// A TCP segment: its header fields (RFC 9293 §3.1) and its data. Options are skipped, not decoded, and the
/// checksum is not verified (captures taken on a sending host often carry offloaded, not yet computed checksums).
public struct TCPSegment: Hashable, Sendable {
    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// Sequence number of the first data octet (or of the SYN).
    public var sequenceNumber: UInt32
    /// Acknowledgment number, meaningful when `flags` contains `.ack`.
    public var acknowledgmentNumber: UInt32
    /// Header length in octets (Data Offset × 4, 20 … 60).
    public var headerLength: Int
    /// Control bits.
    public var flags: TCPFlags
    /// Window.
    public var window: UInt16
    /// Checksum as received (not verified).
    public var checksum: UInt16
    /// Urgent pointer.
    public var urgentPointer: UInt16
    /// The data after the header and its options.
    public var payload: ByteBuffer

    /// Parses `bytes`, the payload of an IP datagram of protocol 6.
    public init(parsing bytes: ByteBuffer) throws(CaptureError) {
        var reader = bytes
        let available = reader.readableBytes
        guard
            let (sourcePort, destinationPort, sequence, acknowledgment, offsetAndFlags, window, checksum, urgent) =
                reader.readMultipleIntegers(as: (UInt16, UInt16, UInt32, UInt32, UInt16, UInt16, UInt16, UInt16).self)
        else {
            throw .truncatedTCPHeader(needed: 20, available: available)
        }
        let dataOffset = UInt8(truncatingIfNeeded: offsetAndFlags >> 12)
        guard dataOffset >= 5 else { throw .badTCPDataOffset(dataOffset) }
        let headerLength = Int(dataOffset) * 4
        guard headerLength <= available else { throw .truncatedTCPHeader(needed: headerLength, available: available) }
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequence
        self.acknowledgmentNumber = acknowledgment
        self.headerLength = headerLength
        self.flags = TCPFlags(rawValue: offsetAndFlags & 0x0FF)
        self.window = window
        self.checksum = checksum
        self.urgentPointer = urgent
        self.payload =
            bytes.getSlice(at: bytes.readerIndex + headerLength, length: available - headerLength) ?? ByteBuffer()
    }
}

/// Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4, RFC 1982).
enum SequenceNumber {
    /// How far `to` lies after `from`, in −2^31 ..< 2^31: negative when `to` is "before" `from`.
    static func distance(from: UInt32, to: UInt32) -> Int64 {
        Int64(Int32(bitPattern: to &- from))
    }
}

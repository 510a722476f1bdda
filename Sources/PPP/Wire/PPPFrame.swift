import NIOCore

/// The header of a PPP frame as carried in PPTP's GRE or in async-HDLC: optional
/// Address/Control (0xFF 0x03) and a 1- or 2-octet Protocol field (RFC 1661 §2, §6.5, §6.6).
public struct PPPFrameHeader: Hashable, Sendable {
    /// Whether the frame started with the Address and Control octets 0xFF 0x03. When
    /// Address-and-Control-Field-Compression is negotiated they may be omitted (RFC 1661 §6.6).
    public var hasAddressAndControl: Bool
    public var protocolNumber: PPPProtocolNumber
    /// Whether the protocol was sent in one octet (Protocol-Field-Compression, RFC 1661 §6.5).
    public var isProtocolCompressed: Bool

    public init(
        protocolNumber: PPPProtocolNumber,
        hasAddressAndControl: Bool = true,
        isProtocolCompressed: Bool = false
    ) {
        self.protocolNumber = protocolNumber
        self.hasAddressAndControl = hasAddressAndControl
        self.isProtocolCompressed = isProtocolCompressed
    }

    /// Octets of the header on the wire.
    @inlinable
    public var encodedLength: Int { (hasAddressAndControl ? 2 : 0) + (isProtocolCompressed ? 1 : 2) }

    /// The header a sender uses for `protocolNumber`, given what was negotiated. RFC 1661 §6.5:
    /// PFC applies only to protocols below 0x100; LCP packets are always sent uncompressed
    /// (§6.6: "LCP packets MUST NOT be compressed"), which the caller expresses by passing false.
    @inlinable
    public static func sending(
        _ protocolNumber: PPPProtocolNumber,
        addressControlCompressed: Bool,
        protocolCompressed: Bool
    ) -> Self {
        Self(
            protocolNumber: protocolNumber,
            hasAddressAndControl: !addressControlCompressed,
            isProtocolCompressed: protocolCompressed && protocolNumber.rawValue < 0x100
        )
    }

    /// Parses the header at the start of `bytes`. Accepts compressed and uncompressed forms
    /// whatever was negotiated (RFC 1661 §6.5, §6.6: a receiver SHOULD accept both).
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PPPWireError) -> PPPFrameHeader {
        var offset = 0
        var hasAC = false
        if bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0x03 {
            hasAC = true
            offset = 2
        }
        guard bytes.count > offset else { throw .truncated(needed: offset + 1, available: bytes.count) }
        let first = bytes[offset]
        if first & 1 == 1 {
            // An odd first octet can only be a compressed (1-octet) protocol field.
            return PPPFrameHeader(
                protocolNumber: .init(UInt16(first)),
                hasAddressAndControl: hasAC,
                isProtocolCompressed: true
            )
        }
        guard bytes.count >= offset + 2 else { throw .truncated(needed: offset + 2, available: bytes.count) }
        let value = UInt16(first) << 8 | UInt16(bytes[offset + 1])
        let number = PPPProtocolNumber(value)
        guard number.isValid else { throw .invalidProtocolField(value) }
        return PPPFrameHeader(protocolNumber: number, hasAddressAndControl: hasAC, isProtocolCompressed: false)
    }

    /// Writes the header at the start of `bytes` (which must hold `encodedLength` octets).
    @inlinable
    @discardableResult
    public func write(to bytes: UnsafeMutableRawBufferPointer) -> Int {
        precondition(bytes.count >= encodedLength, "PPP header buffer too small")
        var offset = 0
        if hasAddressAndControl {
            bytes[0] = 0xFF
            bytes[1] = 0x03
            offset = 2
        }
        if isProtocolCompressed {
            bytes[offset] = UInt8(truncatingIfNeeded: protocolNumber.rawValue)
            return offset + 1
        }
        bytes[offset] = UInt8(truncatingIfNeeded: protocolNumber.rawValue >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: protocolNumber.rawValue)
        return offset + 2
    }

    /// Reads the header from the front of `buffer`, leaving the reader index at the information
    /// field.
    public init(parsing buffer: inout ByteBuffer) throws(PPPWireError) {
        let header = try buffer.withUnsafeReadableBytes { bytes throws(PPPWireError) in try Self.parse(bytes) }
        buffer.moveReaderIndex(forwardBy: header.encodedLength)
        self = header
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: encodedLength) { self.write(to: $0) }
    }
}

/// A PPP frame: header and information field (RFC 1661 §2). Padding is not stripped here: for
/// control protocols the packet Length field tells where the data ends (RFC 1661 §5).
public struct PPPFrame: Hashable, Sendable {
    public var header: PPPFrameHeader
    public var information: ByteBuffer

    public var protocolNumber: PPPProtocolNumber { header.protocolNumber }

    public init(header: PPPFrameHeader, information: ByteBuffer) {
        self.header = header
        self.information = information
    }

    public init(protocolNumber: PPPProtocolNumber, information: ByteBuffer) {
        self.header = PPPFrameHeader(protocolNumber: protocolNumber)
        self.information = information
    }

    /// Parses a frame; the information field is a slice of `bytes` (no copy).
    public init(parsing bytes: ByteBuffer) throws(PPPWireError) {
        var buffer = bytes
        self.header = try PPPFrameHeader(parsing: &buffer)
        self.information = buffer
    }

    public func write(to buffer: inout ByteBuffer) {
        header.write(to: &buffer)
        var information = information
        buffer.writeBuffer(&information)
    }

    public func serialized() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(header.encodedLength + information.readableBytes)
        write(to: &buffer)
        return buffer
    }
}

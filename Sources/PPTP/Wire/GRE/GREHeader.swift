import NIOCore

/// The enhanced GRE header of PPTP data packets, RFC 2637 §4.1 (GRE base: RFC 1701, RFC 2784).
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
/// |    Key (HW) Payload Length    |       Key (LW) Call ID        |
/// |                  Sequence Number (Optional)                   |
/// |               Acknowledgment Number (Optional)                |
/// ```
/// The Key is always present and carries the payload length and the *receiver's* Call ID.
/// Sequence is present iff S is set (a data packet), Acknowledgment iff A is set. A packet with
/// A but no S is an acknowledgment only, with payload length 0.
public struct GREHeader: Hashable, Sendable {
    /// Octets of PPP payload after the header (not counting the GRE header).
    public var payloadLength: UInt16
    /// The Call ID of the peer that receives this packet.
    public var callID: UInt16
    /// Present on data packets (S bit).
    public var sequenceNumber: UInt32?
    /// Present when the sender acknowledges received data (A bit).
    public var acknowledgmentNumber: UInt32?

    /// IP protocol number of GRE.
    public static let ipProtocol: UInt8 = 47
    /// Protocol Type of PPP in enhanced GRE.
    public static let pppProtocolType: UInt16 = 0x880B
    /// The largest header: base 8 octets, sequence and acknowledgment.
    public static let maximumLength = 16

    @usableFromInline static let checksumBit: UInt16 = 0x8000
    @usableFromInline static let routingBit: UInt16 = 0x4000
    @usableFromInline static let keyBit: UInt16 = 0x2000
    @usableFromInline static let sequenceBit: UInt16 = 0x1000
    @usableFromInline static let strictSourceRouteBit: UInt16 = 0x0800
    @usableFromInline static let recursionMask: UInt16 = 0x0700
    @usableFromInline static let acknowledgmentBit: UInt16 = 0x0080
    @usableFromInline static let flagsMask: UInt16 = 0x0078
    @usableFromInline static let versionMask: UInt16 = 0x0007

    public init(
        payloadLength: UInt16,
        callID: UInt16,
        sequenceNumber: UInt32? = nil,
        acknowledgmentNumber: UInt32? = nil
    ) {
        self.payloadLength = payloadLength
        self.callID = callID
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
    }

    /// The header length on the wire: 8, 12 or 16 octets.
    @inlinable
    public var encodedLength: Int {
        8 + (sequenceNumber == nil ? 0 : 4) + (acknowledgmentNumber == nil ? 0 : 4)
    }

    /// Whether this packet carries no data, only an acknowledgment (RFC 2637 §4.1, S bit clear).
    public var isAcknowledgmentOnly: Bool { sequenceNumber == nil }

    /// Parses the header at the start of `bytes` and checks that the declared payload is present.
    /// Octets after the payload (link-layer padding) are ignored.
    ///
    /// Returns the header; the payload is `bytes[encodedLength ..< encodedLength + payloadLength]`.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(PPTPWireError) -> GREHeader {
        guard bytes.count >= 8 else { throw .truncated(needed: 8, available: bytes.count) }
        let flags = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt16.self))
        let protocolType = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        try checkFlags(flags, protocolType: protocolType)
        let payloadLength = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        let callID = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        var offset = 8
        var sequence: UInt32?
        var ack: UInt32?
        // RFC 2637 §4.1: the sequence number precedes the acknowledgment number.
        if flags & sequenceBit != 0 {
            guard bytes.count >= offset + 4 else { throw .truncated(needed: offset + 4, available: bytes.count) }
            sequence = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
        }
        if flags & acknowledgmentBit != 0 {
            guard bytes.count >= offset + 4 else { throw .truncated(needed: offset + 4, available: bytes.count) }
            ack = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
        }
        guard bytes.count - offset >= Int(payloadLength) else {
            throw .grePayloadLength(declared: payloadLength, available: bytes.count - offset)
        }
        return GREHeader(
            payloadLength: payloadLength,
            callID: callID,
            sequenceNumber: sequence,
            acknowledgmentNumber: ack
        )
    }

    @inlinable
    internal static func checkFlags(_ flags: UInt16, protocolType: UInt16) throws(PPTPWireError) {
        let version = UInt8(truncatingIfNeeded: flags & versionMask)
        guard version == 1 else { throw .greVersion(version) }
        guard protocolType == pppProtocolType else { throw .greProtocol(protocolType) }
        // RFC 2637 §4.1: C and R "Set to zero (0)", K "Set to one (1)".
        guard flags & (checksumBit | routingBit) == 0 else { throw .greChecksumOrRoutingPresent }
        guard flags & keyBit != 0 else { throw .greKeyAbsent }
        guard flags & (strictSourceRouteBit | recursionMask | flagsMask) == 0 else {
            throw .greReservedFieldsSet(flags: flags)
        }
    }

    /// Writes the header at the start of `bytes`, which must hold `encodedLength` octets (a local
    /// bug otherwise). Returns the number of octets written.
    @inlinable
    @discardableResult
    public func write(to bytes: UnsafeMutableRawBufferPointer) -> Int {
        precondition(bytes.count >= encodedLength, "GRE header buffer too small")
        var flags: UInt16 = Self.keyBit | 1
        if sequenceNumber != nil { flags |= Self.sequenceBit }
        if acknowledgmentNumber != nil { flags |= Self.acknowledgmentBit }
        bytes.storeBytes(of: flags.bigEndian, toByteOffset: 0, as: UInt16.self)
        bytes.storeBytes(of: Self.pppProtocolType.bigEndian, toByteOffset: 2, as: UInt16.self)
        bytes.storeBytes(of: payloadLength.bigEndian, toByteOffset: 4, as: UInt16.self)
        bytes.storeBytes(of: callID.bigEndian, toByteOffset: 6, as: UInt16.self)
        var offset = 8
        if let sequenceNumber {
            bytes.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        if let acknowledgmentNumber {
            bytes.storeBytes(of: acknowledgmentNumber.bigEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        return offset
    }

    /// Reads a header from the front of `buffer`, leaving the reader index at the payload.
    public init(parsing buffer: inout ByteBuffer) throws(PPTPWireError) {
        let header = try buffer.withUnsafeReadableBytes { bytes throws(PPTPWireError) in try Self.parse(bytes) }
        buffer.moveReaderIndex(forwardBy: header.encodedLength)
        self = header
    }

    /// Appends the header to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        let length = encodedLength
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            self.write(to: bytes)
        }
    }
}

/// A whole enhanced GRE packet: the header and its PPP payload.
public struct GREPacket: Hashable, Sendable {
    public var header: GREHeader
    /// The PPP frame (exactly `header.payloadLength` octets).
    public var payload: ByteBuffer

    public init(header: GREHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    /// Parses a packet; the payload is a slice of `bytes` (no copy). Padding after the declared
    /// payload is ignored.
    public init(parsing bytes: ByteBuffer) throws(PPTPWireError) {
        var buffer = bytes
        let header = try GREHeader(parsing: &buffer)
        guard let payload = buffer.readSlice(length: Int(header.payloadLength)) else {
            throw .grePayloadLength(declared: header.payloadLength, available: buffer.readableBytes)
        }
        self.header = header
        self.payload = payload
    }

    /// Writes header and payload.
    public func write(to buffer: inout ByteBuffer) {
        header.write(to: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
    }
}

import NIOCore

/// The body of one PPTP control message: everything after the 12-octet header
/// (Length, PPTP Message Type, Magic Cookie, Control Message Type, Reserved0; RFC 2637 §1.4).
public protocol ControlMessageBody: Hashable, Sendable {
    /// The Control Message Type this body belongs to.
    static var messageType: ControlMessageType { get }
    /// Parses a body; must consume `body` exactly (the framer has checked its length).
    init(parsing body: inout ByteBuffer) throws(PPTPWireError)
    /// Writes the body after the header. Infallible.
    func write(to buffer: inout ByteBuffer)
}

extension ByteBuffer {
    /// Reads an integer or throws `.truncated`: a body parser never reads past its slice.
    @inlinable
    mutating func readWire<T: FixedWidthInteger>(_: T.Type = T.self) throws(PPTPWireError) -> T {
        guard let value = self.readInteger(as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: self.readableBytes)
        }
        return value
    }

    /// Skips a reserved field. RFC 2637 reserved fields "MUST be 0" when sent; we ignore them on
    /// receipt (be tolerant in what we accept).
    @inlinable
    mutating func skipReserved(_ count: Int) throws(PPTPWireError) {
        guard self.readableBytes >= count else {
            throw .truncated(needed: count, available: self.readableBytes)
        }
        self.moveReaderIndex(forwardBy: count)
    }

    @inlinable
    mutating func writeZeros(_ count: Int) {
        self.writeRepeatingByte(0, count: count)
    }
}

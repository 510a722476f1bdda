/// The two bytes that follow the PPP protocol 0x00FD in every MPPE packet (RFC 3078 §3.1): four flag bits and a
/// 12-bit coherency count.
///
/// ```
///  0                   1
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |A|B|C|D|    Coherency Count    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
public struct MPPEHeader: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// Length of the header on the wire.
    public static let byteCount = 2

    /// Bit A, FLUSHED (RFC 3078 §3.1): the sender re-initialised its RC4 tables before this packet.
    static let flushedBit: UInt16 = 0x8000
    /// Bit B: no significance in MPPE (MPPC's "packet at front of history").
    static let bitBMask: UInt16 = 0x4000
    /// Bit C: no significance in MPPE (MPPC's "packet compressed").
    static let bitCMask: UInt16 = 0x2000
    /// Bit D (RFC 3078 §3.1): "This bit set to 1 indicates that the packet is encrypted."
    static let encryptedBit: UInt16 = 0x1000
    /// The 12-bit coherency count.
    static let countMask: UInt16 = 0x0FFF

    /// The header as a big-endian 16-bit word.
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// A header with the given flags; `coherencyCount` is taken modulo 4096.
    public init(flushed: Bool, encrypted: Bool = true, coherencyCount: UInt16) {
        self.rawValue = coherencyCount & Self.countMask
        self.flushed = flushed
        self.encrypted = encrypted
    }

    /// Reads the header from the first two bytes of `bytes`; nil if there are fewer than two.
    public init?(parsing bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.byteCount else { return nil }
        self.rawValue = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
    }

    /// Reads the header from the first two bytes of `bytes`; nil if there are fewer than two.
    public init?(parsing bytes: [UInt8]) {
        guard let header = bytes.withUnsafeBytes({ MPPEHeader(parsing: $0) }) else { return nil }
        self = header
    }

    /// Bit A, FLUSHED (RFC 3078 §3.1): the receiver must re-initialise its RC4 tables before decrypting.
    /// Set on every packet in stateless mode.
    public var flushed: Bool {
        get { self.rawValue & Self.flushedBit != 0 }
        set { self.set(Self.flushedBit, newValue) }
    }

    /// Bit B; RFC 3078 §3.1: "This bit does not have any significance in MPPE."
    public var bitB: Bool {
        get { self.rawValue & Self.bitBMask != 0 }
        set { self.set(Self.bitBMask, newValue) }
    }

    /// Bit C; RFC 3078 §3.1: "This bit does not have any significance in MPPE."
    public var bitC: Bool {
        get { self.rawValue & Self.bitCMask != 0 }
        set { self.set(Self.bitCMask, newValue) }
    }

    /// Bit D (RFC 3078 §3.1): the packet is encrypted. Always set by `MPPEEncryptor`.
    public var encrypted: Bool {
        get { self.rawValue & Self.encryptedBit != 0 }
        set { self.set(Self.encryptedBit, newValue) }
    }

    /// The coherency count, 0…4095 (RFC 3078 §3.1); setting it keeps only the low 12 bits.
    public var coherencyCount: UInt16 {
        get { self.rawValue & Self.countMask }
        set { self.rawValue = (self.rawValue & ~Self.countMask) | (newValue & Self.countMask) }
    }

    /// The two header bytes, in wire order.
    public var bytes: (UInt8, UInt8) {
        (UInt8(truncatingIfNeeded: self.rawValue >> 8), UInt8(truncatingIfNeeded: self.rawValue))
    }

    /// Writes the two header bytes at the start of `buffer`; false (and nothing written) if it is shorter.
    public func write(to buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard buffer.count >= Self.byteCount else { return false }
        buffer[0] = self.bytes.0
        buffer[1] = self.bytes.1
        return true
    }

    private mutating func set(_ mask: UInt16, _ on: Bool) {
        self.rawValue = on ? self.rawValue | mask : self.rawValue & ~mask
    }

    /// For example "MPPE(A-D count=17)": set flags by letter, clear ones as "-".
    public var description: String {
        let flags = [(self.flushed, "A"), (self.bitB, "B"), (self.bitC, "C"), (self.encrypted, "D")]
            .map { $0.0 ? $0.1 : "-" }.joined()
        return "MPPE(\(flags) count=\(self.coherencyCount))"
    }
}

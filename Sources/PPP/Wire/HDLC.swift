/// Async-HDLC-like framing of PPP for serial lines and pseudo-terminals (RFC 1662 §4): flag
/// 0x7E, control escape 0x7D with the octet XORed with 0x20, escaping of the control characters
/// selected by the ACCM, and the 16-bit FCS of RFC 1662 §C.2.
public enum HDLC {
    public static let flag: UInt8 = 0x7E
    public static let escape: UInt8 = 0x7D
    /// RFC 1662 §C.2: the FCS register starts at 0xFFFF …
    public static let initialFCS: UInt16 = 0xFFFF
    /// … and a frame whose FCS is included verifies to 0xF0B8.
    public static let goodFCS: UInt16 = 0xF0B8

    /// The FCS-16 lookup table of RFC 1662 §C.2 (polynomial x¹⁶ + x¹² + x⁵ + 1, reflected).
    public static let fcsTable: [UInt16] = (0..<256).map { (index: Int) -> UInt16 in
        var value = UInt16(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0x8408 : value >> 1 }
        return value
    }

    /// Updates an FCS-16 with `bytes` (RFC 1662 §C.2 `pppfcs16`).
    @inlinable
    public static func fcs16(_ fcs: UInt16 = initialFCS, _ bytes: some Sequence<UInt8>) -> UInt16 {
        var fcs = fcs
        fcsTable.withUnsafeBufferPointer { table in
            for byte in bytes { fcs = (fcs >> 8) ^ table[Int((fcs ^ UInt16(byte)) & 0xFF)] }
        }
        return fcs
    }
}

/// Encodes PPP frames into async-HDLC octets (RFC 1662 §4).
public struct HDLCEncoder: Sendable {
    /// The transmit ACCM: bit n set means control character n (0–31) is escaped. RFC 1662 §7.1:
    /// 0xFFFFFFFF until LCP negotiates otherwise.
    public var accm: UInt32

    public init(accm: UInt32 = 0xFFFF_FFFF) { self.accm = accm }

    /// Appends the frame to `out`: opening flag, escaped frame and FCS, closing flag. `frame` is
    /// the PPP frame from the Address field (or the Protocol field with ACFC) to the end of the
    /// information field.
    public func encode(_ frame: some Collection<UInt8>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + frame.count * 2 + 6)
        out.append(HDLC.flag)
        // RFC 1662 §C.2: the FCS is complemented and sent least significant octet first.
        let fcs = ~HDLC.fcs16(HDLC.initialFCS, frame)
        for byte in frame { append(byte, to: &out) }
        append(UInt8(truncatingIfNeeded: fcs), to: &out)
        append(UInt8(truncatingIfNeeded: fcs >> 8), to: &out)
        out.append(HDLC.flag)
    }

    /// Encodes one frame into a new array.
    public func encode(_ frame: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        encode(frame, into: &out)
        return out
    }

    @inline(__always)
    private func append(_ byte: UInt8, to out: inout [UInt8]) {
        // RFC 1662 §4.2: flag and escape are always escaped; control characters per the ACCM.
        if byte == HDLC.flag || byte == HDLC.escape || (byte < 0x20 && accm & (1 << UInt32(byte)) != 0) {
            out.append(HDLC.escape)
            out.append(byte ^ 0x20)
        } else {
            out.append(byte)
        }
    }
}

/// A streaming async-HDLC decoder (RFC 1662 §4): feed it octets as they arrive from a serial
/// line; it returns complete frames (without FCS) and errors for bad ones. Memory is bounded by
/// `maximumFrameLength`: a longer frame is dropped up to the next flag and reported once.
public struct HDLCDecoder: Sendable {
    /// One decoded frame, or the reason a frame was dropped.
    public enum Output: Hashable, Sendable {
        /// A frame whose FCS verified: address/control (if sent), protocol and information.
        case frame([UInt8])
        case error(PPPWireError)
    }

    /// The receive ACCM: control characters with their bit set were inserted by the link and are
    /// discarded (RFC 1662 §7.1); others are data.
    public var accm: UInt32
    public let maximumFrameLength: Int

    private var current: [UInt8] = []
    private var escaped = false
    private var overflowed = false

    /// `maximumFrameLength` counts the octets between flags after unescaping (FCS included).
    public init(accm: UInt32 = 0xFFFF_FFFF, maximumFrameLength: Int = 1500 + 4 + 2 + 2) {
        self.accm = accm
        self.maximumFrameLength = maximumFrameLength
    }

    /// Octets currently held for an unfinished frame.
    public var bufferedBytes: Int { current.count }

    /// Feeds octets; returns the frames and errors they complete.
    public mutating func decode(_ bytes: some Sequence<UInt8>) -> [Output] {
        var outputs: [Output] = []
        for byte in bytes {
            if byte == HDLC.flag {
                if escaped {
                    // RFC 1662 §4.2: "a Control Escape octet followed by a Flag Sequence octet
                    // … indicates the frame is to be aborted".
                    outputs.append(.error(.frameAborted))
                } else if overflowed {
                    outputs.append(.error(.frameTooLong(limit: maximumFrameLength)))
                } else if !current.isEmpty {
                    outputs.append(finish())
                }
                current.removeAll(keepingCapacity: true)
                escaped = false
                overflowed = false
                continue
            }
            if byte < 0x20 && accm & (1 << UInt32(byte)) != 0 { continue }
            if byte == HDLC.escape {
                escaped = true
                continue
            }
            let value = escaped ? byte ^ 0x20 : byte
            escaped = false
            if overflowed { continue }
            if current.count >= maximumFrameLength {
                overflowed = true
                current.removeAll(keepingCapacity: true)
                continue
            }
            current.append(value)
        }
        return outputs
    }

    private func finish() -> Output {
        guard current.count >= 4 else { return .error(.frameTooShort(current.count)) }
        guard HDLC.fcs16(HDLC.initialFCS, current) == HDLC.goodFCS else { return .error(.badFrameCheckSequence) }
        return .frame(Array(current.dropLast(2)))
    }
}

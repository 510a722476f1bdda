import NIOCore

/// A fixed-width text field of a PPTP control message: Host Name and Vendor String (64 octets,
/// RFC 2637 §2.1), Phone Number and Subaddress (64), Call Statistics (128, §2.13).
///
/// The RFC fills the unused part with zeros. The octets are kept exactly as received, so that
/// a parsed message serialises to the same bytes even when a peer leaves garbage after the
/// terminating zero; `text` is what a person reads.
public struct FixedWidthString: Hashable, Sendable, CustomStringConvertible {
    /// The octets, exactly `width` of them.
    public private(set) var octets: [UInt8]

    /// The field width in octets.
    public var width: Int { octets.count }

    /// A field of `width` octets holding `text` (UTF-8, truncated to the width), zero-padded.
    public init(_ text: String, width: Int) {
        var bytes = Array(text.utf8.prefix(width))
        bytes.append(contentsOf: repeatElement(0, count: width - bytes.count))
        self.octets = bytes
    }

    /// A field holding exactly these octets, truncated or zero-padded to `width`.
    public init(octets: some Collection<UInt8>, width: Int) {
        var bytes = Array(octets.prefix(width))
        bytes.append(contentsOf: repeatElement(0, count: width - bytes.count))
        self.octets = bytes
    }

    /// The text up to the first zero octet, decoded as UTF-8 with replacement of invalid octets.
    public var text: String {
        let end = octets.firstIndex(of: 0) ?? octets.endIndex
        return String(decoding: octets[..<end], as: UTF8.self)
    }

    /// The text with control characters escaped, safe to print in a log line or terminal.
    public var printable: String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public var description: String { "\"\(printable)\"" }

    /// Reads a field of `width` octets. The caller has checked that they are present.
    static func read(from buffer: inout ByteBuffer, width: Int) throws(PPTPWireError) -> Self {
        guard let bytes = buffer.readBytes(length: width) else {
            throw .truncated(needed: width, available: buffer.readableBytes)
        }
        return Self(octets: bytes, width: width)
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeBytes(octets)
    }
}

/// Hexadecimal text of octets, for the MS-CHAP authenticator response and for logs.
enum Hex {
    private static let upper: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Upper-case hexadecimal, as RFC 2759 §5 requires for the authenticator response.
    static func upperCase(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(upper[Int(byte >> 4)])
            out.append(upper[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses hexadecimal digits of either case; nil on an odd count or a non-hex character.
    static func decode(_ text: some Sequence<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for character in text {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? out : nil
    }
}

/// The text every secret-holding type prints instead of its bytes.
let redacted = "<redacted>"

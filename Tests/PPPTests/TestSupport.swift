import NIOCore

/// Octets from hex text; spaces, newlines and `|` are ignored so vectors can be laid out by field.
func bytes(_ text: String) -> [UInt8] {
    let digits = text.filter { $0.isHexDigit }
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// Builds values from a stream of random octets, like libFuzzer's FuzzedDataProvider: the same
/// builder serves property tests (random octets from PropertyBased) and fuzz targets.
struct ByteSource {
    private var bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        var value: T = 0
        for _ in 0..<MemoryLayout<T>.size { value = value << 8 | T(byte()) }
        return value
    }

    mutating func array(maxCount: Int) -> [UInt8] {
        let count = Int(byte()) % (maxCount + 1)
        return (0..<count).map { _ in byte() }
    }

    mutating func ascii(maxCount: Int) -> String {
        let count = Int(byte()) % (maxCount + 1)
        return String(decoding: (0..<count).map { _ in 0x21 + byte() % 0x5E }, as: UTF8.self)
    }
}

extension ByteBuffer {
    var allBytes: [UInt8] { Array(readableBytesView) }
}

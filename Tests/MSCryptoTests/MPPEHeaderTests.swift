import Testing

@testable import MSCrypto

@Suite struct MPPEHeaderTests {
    /// RFC 3078 §3.1: A = 0x80, B = 0x40, C = 0x20, D = 0x10 of the first byte, then a 12-bit count.
    @Test func headerParsesRFC3078Bits() throws {
        let header = try #require(MPPEHeader(parsing: [0x90, 0x2A]))
        #expect(header.flushed)
        #expect(!header.bitB)
        #expect(!header.bitC)
        #expect(header.encrypted)
        #expect(header.coherencyCount == 0x02A)
        #expect(header.description == "MPPE(A--D count=42)")
        let all = try #require(MPPEHeader(parsing: [0xFF, 0xFF]))
        #expect(all.flushed && all.bitB && all.bitC && all.encrypted && all.coherencyCount == 4095)
    }

    @Test func headerWritesBytesInWireOrder() {
        var header = MPPEHeader(flushed: true, coherencyCount: 0x123)
        #expect(header.rawValue == 0x9123)
        #expect(header.bytes == (0x91, 0x23))
        var buffer: [UInt8] = [0, 0, 7]
        #expect(buffer.withUnsafeMutableBytes { header.write(to: $0) })
        #expect(buffer == [0x91, 0x23, 7])
        var short: [UInt8] = [9]
        #expect(!short.withUnsafeMutableBytes { header.write(to: $0) })
        #expect(short == [9])
        header.coherencyCount = 0x1FFF
        #expect(header.coherencyCount == 0xFFF)
        #expect(header.flushed && header.encrypted)
        header.flushed = false
        header.bitC = true
        #expect(header.rawValue == 0x3FFF)
    }

    @Test func headerRejectsTruncatedInput() {
        #expect(MPPEHeader(parsing: []) == nil)
        #expect(MPPEHeader(parsing: [0x90]) == nil)
        #expect(MPPEHeader(parsing: [0x90, 0x00, 0x01])?.coherencyCount == 0)
    }

    @Test func headerRoundTripsEveryRawValue() {
        for raw in UInt16.min...UInt16.max {
            let header = MPPEHeader(rawValue: raw)
            let reparsed = MPPEHeader(parsing: [header.bytes.0, header.bytes.1])
            if reparsed != header { Issue.record("\(raw) did not round-trip") }
        }
    }
}

import Foundation
import NIOCore
import Testing

@testable import PPTPCapture

@Suite struct PcapWriterTests {
    static let packets: [[UInt8]] = [
        CaptureBytes.ipv4(protocolNumber: 1, payload: [8, 0, 0xF7, 0xFF, 0, 0, 0, 0]),
        CaptureBytes.ipv6(nextHeader: 59, payload: []),
        CaptureBytes.ipv4(
            source: .v4(203, 0, 113, 11),
            destination: .v4(203, 0, 113, 1),
            protocolNumber: 17,
            payload: Array(repeating: 0x50, count: 300)
        ),
    ]
    static let times = [
        CaptureTimestamp(seconds: 1_795_741_697, nanoseconds: 880_360_123),
        CaptureTimestamp(seconds: 1_795_741_698, nanoseconds: 1),
        CaptureTimestamp(seconds: 0, nanoseconds: 999_999_999),
    ]

    struct Variant: Sendable, CustomTestStringConvertible {
        var linkType: LinkType
        var resolution: PcapTimestampResolution
        var order: Endianness
        var testDescription: String { "\(linkType) \(resolution) \(order)" }
    }

    static let variants: [Variant] = [LinkType.raw, .ethernet, .null].flatMap { link in
        [PcapTimestampResolution.microseconds, .nanoseconds].flatMap { resolution in
            [Endianness.little, .big].map { Variant(linkType: link, resolution: resolution, order: $0) }
        }
    }

    static func write(_ variant: Variant) throws -> PcapWriter {
        var writer = PcapWriter(linkType: variant.linkType, resolution: variant.resolution, byteOrder: variant.order)
        for (packet, time) in zip(packets, times) {
            try writer.writeIPPacket(packet, timestamp: time)
        }
        return writer
    }

    @Test(arguments: variants)
    func roundTripsThroughTheReader(variant: Variant) throws {
        let writer = try Self.write(variant)
        #expect(writer.packetsWritten == 3)
        let contents = CaptureFileReader.readAll(writer.bytes)
        #expect(contents.error == nil)
        guard case .pcap(let header) = contents.format else {
            Issue.record("not pcap")
            return
        }
        #expect(header.linkType == variant.linkType)
        #expect(header.resolution == variant.resolution)
        #expect(header.byteOrder == variant.order)
        let expectedTimes = Self.times.map { time in
            variant.resolution == .nanoseconds
                ? time : CaptureTimestamp(seconds: time.seconds, nanoseconds: time.nanoseconds / 1000 * 1000)
        }
        #expect(contents.frames.map(\.timestamp) == expectedTimes)
        // The demultiplexer finds the same IP packets behind whatever link header was written.
        let result = CaptureReader.readAll(writer.bytes)
        #expect(result.statistics.ipv4Packets == 2)
        #expect(result.statistics.ipv6Packets == 1)
        #expect(result.statistics.malformedFrames == 0)
        for (frame, packet) in zip(contents.frames, Self.packets) {
            #expect(Array(frame.data.readableBytesView).suffix(packet.count).elementsEqual(packet))
            #expect(frame.originalLength == frame.data.readableBytes)
        }
    }

    @Test func cutsPacketsToTheSnapLengthAndRejectsUnrepresentableTimes() throws {
        var writer = PcapWriter(linkType: .raw, snapLength: 64)
        try writer.write(packet: Self.packets[2], timestamp: .zero)
        let frame = try #require(CaptureFileReader.readAll(writer.bytes).frames.first)
        #expect(frame.data.readableBytes == 64)
        #expect(frame.originalLength == Self.packets[2].count)
        #expect(throws: CaptureError.notRepresentableInPcap(length: 3, seconds: -1)) {
            try writer.write(packet: [1, 2, 3], timestamp: CaptureTimestamp(seconds: -1, nanoseconds: 0))
        }
        let past2106 = Int64(UInt32.max) + 1  // the first second a 32-bit pcap timestamp cannot hold
        #expect(throws: CaptureError.notRepresentableInPcap(length: 3, seconds: past2106)) {
            try writer.write(packet: [1, 2, 3], timestamp: CaptureTimestamp(seconds: past2106, nanoseconds: 0))
        }
        #expect(writer.packetsWritten == 1)
    }

    @Test func writesAndReadsFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pptp-writer-\(UUID().uuidString).pcap"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try Self.write(Variant(linkType: .raw, resolution: .nanoseconds, order: .little))
        try CaptureFile.write(writer.bytes, to: path)
        #expect(try CaptureFile.read(path: path) == writer.bytes)
        #expect(throws: CaptureError.fileSystem(errno: ENOENT)) { try CaptureFile.read(path: path + ".missing/x") }
        #expect(throws: CaptureError.fileSystem(errno: ENOENT)) {
            try CaptureFile.write(writer.bytes, to: path + ".missing/x")
        }
    }

    @Test(
        .enabled(if: TsharkRunner.isAvailable, "tshark is not installed: tshark round trip skipped"),
        arguments: variants
    )
    func roundTripsThroughTshark(variant: Variant) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pptp-writer-\(UUID().uuidString).pcap"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try CaptureFile.write(try Self.write(variant).bytes, to: path)
        let lines = try TsharkRunner.lines([
            "-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src",
            "-e", "frame.len",
        ])
        let header = variant.linkType == .ethernet ? 14 : variant.linkType == .null ? 4 : 0
        let expected = zip(Self.packets, Self.times).map { packet, time in
            // tshark prints nine fractional digits; a µs file holds whole microseconds.
            let nanoseconds = variant.resolution == .nanoseconds ? time.nanoseconds : time.nanoseconds / 1000 * 1000
            let digits = String(nanoseconds)
            let fraction = String(repeating: "0", count: 9 - digits.count) + digits
            let source =
                packet[0] >> 4 == 4
                ? "\(IPAddress(octets: packet[12..<16])!)," : ",\(IPAddress(octets: packet[8..<24])!)"
            return "\(time.seconds).\(fraction),\(source),\(packet.count + header)"
        }
        #expect(lines == expected)
    }
}

import NIOCore
import PropertyBased
import Testing

@testable import PPTPCapture

/// Truncated and mutated captures: a typed error or a clean shorter result, never a trap or a hang.
@Suite struct DamagedCaptureTests {
    /// Rewrites the frames of a classic pcap as pcapng (SHB, one IDB, one EPB per frame) in `order`.
    static func pcapng(from frames: [CaptureFrame], linkType: LinkType, order: Endianness) -> [UInt8] {
        var file =
            CaptureBytes.sectionHeader(order)
            + CaptureBytes.interface(linkType: UInt16(linkType.rawValue), tsresol: 9, order)
        for frame in frames {
            let time = UInt64(frame.timestamp.seconds) * 1_000_000_000 + UInt64(frame.timestamp.nanoseconds)
            file += CaptureBytes.enhancedPacket(
                interface: 0,
                timestamp: time,
                data: Array(frame.data.readableBytesView),
                order
            )
        }
        return file
    }

    /// Offsets where a classic pcap file may end cleanly: after the header and after each record.
    static func pcapBoundaries(_ bytes: [UInt8]) -> Set<Int> {
        var boundaries: Set<Int> = [24]
        var offset = 24
        while offset + 16 <= bytes.count {
            let length =
                Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16 | Int(
                    bytes[offset + 11]
                ) << 24
            offset += 16 + length
            boundaries.insert(offset)
        }
        return boundaries
    }

    @Test func everyPrefixOfARealCaptureGivesATypedErrorOrACleanShorterResult() throws {
        let path = try #require(GoldenCaptureFiles.outer.first { $0.hasSuffix("08-mschapv2-wrong-password.pcap") })
        let bytes = try GoldenCaptureFiles.bytes(path)
        let boundaries = Self.pcapBoundaries(bytes)
        let full = CaptureReader.readAll(bytes)
        var previousFrames = 0
        for length in 0...bytes.count {
            let prefix = Array(bytes.prefix(length))
            let contents = CaptureFileReader.readAll(prefix)
            if boundaries.contains(length) {
                #expect(contents.error == nil, "prefix \(length)")
            } else {
                switch contents.error {
                case .truncatedFileHeader, .truncatedRecordHeader, .truncatedRecordData:
                    break
                default:
                    Issue.record("prefix \(length): \(String(describing: contents.error))")
                }
            }
            // Frames only ever appear, one record at a time, and are the full capture's first frames.
            #expect(contents.frames.count >= previousFrames)
            previousFrames = contents.frames.count
            #expect(contents.frames == Array(CaptureFileReader.readAll(bytes).frames.prefix(contents.frames.count)))
            let result = CaptureReader.readAll(prefix)
            #expect(result.statistics.frames == contents.frames.count)
        }
        #expect(previousFrames == full.statistics.frames)
    }

    @Test(arguments: [Endianness.little, .big])
    func everyPrefixOfAPcapNGCaptureGivesATypedErrorOrACleanShorterResult(order: Endianness) throws {
        let path = try #require(GoldenCaptureFiles.outer.first { $0.hasSuffix("08-mschapv2-wrong-password.pcap") })
        let frames = CaptureFileReader.readAll(try GoldenCaptureFiles.bytes(path)).frames
        var bytes = Self.pcapng(from: frames, linkType: .ethernet, order: order)
        bytes += CaptureBytes.simplePacket(data: [1, 2, 3], order)
        bytes += CaptureBytes.block(0x4, [0, 0, 0, 0], order)  // a Name Resolution Block, skipped
        let complete = CaptureReader.readAll(bytes)
        #expect(complete.error == nil)
        #expect(complete.statistics.frames == frames.count + 1)
        #expect(
            complete.controlStream(.toServer)
                == CaptureReader.readAll(try GoldenCaptureFiles.bytes(path)).controlStream(.toServer)
        )
        for length in 0..<bytes.count {
            let result = CaptureReader.readAll(Array(bytes.prefix(length)))
            switch result.error {
            case nil, .truncatedBlock, .truncatedFileHeader:
                break
            default:
                Issue.record("prefix \(length): \(String(describing: result.error))")
            }
            #expect(result.statistics.frames <= frames.count + 1)
        }
    }

    /// 400 mutations from fixed seeds, so that every run checks the same inputs (a failure names its seed).
    @Test func randomByteFlipsNeverTrapOrHang() throws {
        let captures = try GoldenCaptureFiles.outer.map { try GoldenCaptureFiles.bytes($0) }
        try #require(!captures.isEmpty)
        let ng = Self.pcapng(from: CaptureFileReader.readAll(captures[0]).frames, linkType: .ethernet, order: .big)
        let inputs = captures + [ng] + (try GoldenCaptureFiles.inner.prefix(1).map { try GoldenCaptureFiles.bytes($0) })
        // A small buffer and table make the limits take part too.
        let configuration = CaptureConfiguration(
            fragmentReassembly: .init(maximumDatagramsInProgress: 4, timeout: .seconds(1)),
            maximumBufferedSegmentsPerDirection: 4,
            maximumConnections: 2
        )
        for seed in UInt64(1)...400 {
            var rng = readingTestGenerator(seed)
            var bytes = inputs[Int.random(in: 0..<inputs.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...24, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                if Bool.random(using: &rng) {
                    bytes[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                } else {
                    bytes[index] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            if Int.random(in: 0..<8, using: &rng) == 0 {
                bytes.removeLast(Int.random(in: 0...min(bytes.count, 2000), using: &rng))
            }
            let contents = CaptureFileReader.readAll(bytes)
            for config in [CaptureConfiguration(), configuration] {
                let result = CaptureReader.readAll(bytes, configuration: config)
                #expect(result.error == contents.error, "seed \(seed)")
                #expect(result.statistics.frames == contents.frames.count, "seed \(seed)")
                // Each frame produces a bounded number of events (the only loops are bounded by the limits).
                #expect(result.events.count <= 300 * (contents.frames.count + 1), "seed \(seed)")
                let last = result.events.last?.frame ?? 0
                #expect(last <= max(contents.frames.last?.number ?? 0, 0), "seed \(seed)")
            }
        }
    }

    @Test func randomPacketsNeverTrap() async {
        await propertyCheck(count: 1000, input: Gen.uint64()) { seed in
            var rng = readingTestGenerator(seed)
            // Random headers behind a valid link layer and a plausible first octet.
            let length = Int.random(in: 0...120, using: &rng)
            var packet = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !packet.isEmpty { packet[0] = [0x45, 0x46, 0x4F, 0x60, 0x00].randomElement(using: &rng) ?? 0x45 }
            if packet.count > 9, Bool.random(using: &rng) { packet[9] = [6, 47, 44].randomElement(using: &rng) ?? 6 }
            if packet.count > 6, packet[0] >> 4 == 6 {
                packet[6] = [0, 6, 43, 44, 47, 51, 60].randomElement(using: &rng) ?? 0
            }
            let linkType: UInt32 = [0, 1, 101, 108, 113, 228, 229, 276].randomElement(using: &rng) ?? 101
            let result = CaptureReader.readAll(
                CaptureBytes.pcap(linkType: linkType, records: [(1, 0, packet), (1, 1, packet)])
            )
            #expect(result.error == nil)
            #expect(result.statistics.frames == 2)
        }
    }
}

import Foundation
import NIOCore
import Testing

@testable import PPTPCapture

/// Locations of the golden captures in `../shared/captures` beside the repository.
enum GoldenCaptureFiles {
    /// The captures folder: the copy of `../shared/captures` kept in `Tests/Fixtures/captures`
    /// (found from this source file's real location), or `PPTP_CAPTURES`.
    static let directory: URL? = {
        if let override = ProcessInfo.processInfo.environment["PPTP_CAPTURES"] {
            return URL(fileURLWithPath: override)
        }
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        // Tests/PPTPCaptureTests/Reading/<file> → Tests.
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent("Fixtures/captures")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }()

    /// Every `*.pcap` below the captures folder, outer and inner, sorted by path.
    static let all: [String] = {
        guard let directory else { return [] }
        let enumerator = FileManager.default.enumerator(atPath: directory.path)
        var paths: [String] = []
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasSuffix(".pcap") { paths.append(directory.appendingPathComponent(relative).path) }
        }
        return paths.sorted()
    }()

    /// The outer captures (Ethernet, TCP 1723 + GRE).
    static var outer: [String] { all.filter { !$0.hasSuffix(".inner-ppp0.pcap") } }
    /// The inner captures (Linux cooked, decrypted IP).
    static var inner: [String] { all.filter { $0.hasSuffix(".inner-ppp0.pcap") } }

    static func name(_ path: String) -> String { URL(fileURLWithPath: path).lastPathComponent }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try CaptureFile.read(path: path).readableBytesView)
    }
}

/// Runs tshark when it is installed.
enum TsharkRunner {
    static let path: String? = {
        let candidates = ["/usr/bin/tshark", "/usr/local/bin/tshark", "/opt/homebrew/bin/tshark"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var isAvailable: Bool { path != nil }

    /// Runs tshark with `arguments` and returns its standard output (standard error is discarded).
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Non-empty output lines.
    static func lines(_ arguments: [String]) throws -> [String] {
        try run(arguments).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}

// MARK: Packet builders

/// Builds packets and capture files octet by octet for hand-made test inputs.
enum CaptureBytes {
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    static func le16(_ value: UInt16) -> [UInt8] { be16(value).reversed() }
    static func le32(_ value: UInt32) -> [UInt8] { be32(value).reversed() }
    static func u16(_ value: UInt16, _ order: Endianness) -> [UInt8] { order == .big ? be16(value) : le16(value) }
    static func u32(_ value: UInt32, _ order: Endianness) -> [UInt8] { order == .big ? be32(value) : le32(value) }

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index < bytes.count {
            let high = UInt32(bytes[index]) << 8
            let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            sum += high | low
            index += 2
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// An IPv4 packet with a correct header checksum.
    static func ipv4(
        source: IPAddress = .v4(192, 0, 2, 2),
        destination: IPAddress = .v4(192, 0, 2, 1),
        protocolNumber: UInt8,
        identification: UInt16 = 1,
        moreFragments: Bool = false,
        fragmentOffset: Int = 0,
        options: [UInt8] = [],
        payload: [UInt8]
    ) -> [UInt8] {
        let headerLength = 20 + options.count
        var header: [UInt8] = [0x40 | UInt8(headerLength / 4), 0]
        header += be16(UInt16(headerLength + payload.count))
        header += be16(identification)
        header += be16((moreFragments ? 0x2000 : 0) | UInt16(fragmentOffset / 8))
        header += [64, protocolNumber, 0, 0]
        header += source.octets + destination.octets + options
        let sum = checksum(header)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xFF)
        return header + payload
    }

    /// An IPv6 packet; `extensions` are raw extension header octets placed before the payload.
    static func ipv6(
        source: IPAddress = IPAddress("2001:db8::2")!,
        destination: IPAddress = IPAddress("2001:db8::1")!,
        nextHeader: UInt8,
        extensions: [UInt8] = [],
        payload: [UInt8]
    ) -> [UInt8] {
        var packet: [UInt8] = [0x60, 0, 0, 0]
        packet += be16(UInt16(extensions.count + payload.count))
        packet += [nextHeader, 64]
        packet += source.octets + destination.octets
        return packet + extensions + payload
    }

    /// An IPv6 Fragment header (RFC 8200 §4.5).
    static func ipv6Fragment(next: UInt8, offset: Int, more: Bool, identification: UInt32) -> [UInt8] {
        [next, 0] + be16(UInt16(offset / 8) << 3 | (more ? 1 : 0)) + be32(identification)
    }

    /// A TCP header of 20 octets (no options) plus payload; the checksum is left zero.
    static func tcp(
        sourcePort: UInt16,
        destinationPort: UInt16,
        sequence: UInt32,
        acknowledgment: UInt32 = 0,
        flags: TCPFlags,
        payload: [UInt8] = []
    ) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(acknowledgment)
            + be16(0x5000 | flags.rawValue) + be16(65535) + [0, 0, 0, 0] + payload
    }

    /// A PPTP enhanced GRE header (RFC 2637 §4.1) with sequence number, plus payload.
    static func gre(callID: UInt16, sequence: UInt32, payload: [UInt8]) -> [UInt8] {
        [0x30, 0x01] + be16(0x880B) + be16(UInt16(payload.count)) + be16(callID) + be32(sequence) + payload
    }

    static func ethernet(type: UInt16, vlanTags: [UInt16] = [], payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]
        for tag in vlanTags { frame += be16(0x8100) + be16(tag) }
        return frame + be16(type) + payload
    }

    static func sll(protocolType: UInt16, payload: [UInt8]) -> [UInt8] {
        be16(0) + be16(512) + be16(0) + [UInt8](repeating: 0, count: 8) + be16(protocolType) + payload
    }

    static func sll2(protocolType: UInt16, payload: [UInt8]) -> [UInt8] {
        be16(protocolType) + be16(0) + be32(3) + be16(1) + [4, 6] + [2, 0, 0, 0, 0, 2, 0, 0] + payload
    }

    /// A classic pcap file.
    static func pcap(
        linkType: UInt32,
        order: Endianness = .little,
        nanoseconds: Bool = false,
        records: [(seconds: UInt32, fraction: UInt32, data: [UInt8])]
    ) -> [UInt8] {
        var file = u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4, order) + u16(2, order) + u16(4, order)
        file += u32(0, order) + u32(0, order) + u32(262_144, order) + u32(linkType, order)
        for record in records {
            file += u32(record.seconds, order) + u32(record.fraction, order)
            file += u32(UInt32(record.data.count), order) + u32(UInt32(record.data.count), order) + record.data
        }
        return file
    }

    /// A pcapng block of `type` with `body` padded to 32 bits.
    static func block(_ type: UInt32, _ body: [UInt8], _ order: Endianness) -> [UInt8] {
        let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
        let length = UInt32(padded.count + 12)
        return u32(type, order) + u32(length, order) + padded + u32(length, order)
    }

    static func sectionHeader(_ order: Endianness) -> [UInt8] {
        block(
            0x0A0D_0D0A,
            u32(0x1A2B_3C4D, order) + u16(1, order) + u16(0, order) + [UInt8](repeating: 0xFF, count: 8),
            order
        )
    }

    /// An IDB; `tsresol` adds an if_tsresol option.
    static func interface(
        linkType: UInt16,
        tsresol: UInt8? = nil,
        tsoffset: Int64? = nil,
        _ order: Endianness
    ) -> [UInt8] {
        var options: [UInt8] = []
        if let tsresol { options += u16(9, order) + u16(1, order) + [tsresol, 0, 0, 0] }
        if let tsoffset {
            let value = UInt64(bitPattern: tsoffset)
            options += u16(14, order) + u16(8, order)
            options +=
                order == .big
                ? u32(UInt32(value >> 32), order) + u32(UInt32(value & 0xFFFF_FFFF), order)
                : u32(UInt32(value & 0xFFFF_FFFF), order) + u32(UInt32(value >> 32), order)
        }
        if !options.isEmpty { options += u16(0, order) + u16(0, order) }
        return block(1, u16(linkType, order) + u16(0, order) + u32(0, order) + options, order)
    }

    static func enhancedPacket(interface: UInt32, timestamp: UInt64, data: [UInt8], _ order: Endianness) -> [UInt8] {
        let body =
            u32(interface, order) + u32(UInt32(timestamp >> 32), order) + u32(UInt32(timestamp & 0xFFFF_FFFF), order)
            + u32(UInt32(data.count), order) + u32(UInt32(data.count), order) + data
        return block(6, body, order)
    }

    static func simplePacket(data: [UInt8], _ order: Endianness) -> [UInt8] {
        block(3, u32(UInt32(data.count), order) + data, order)
    }

    static func obsoletePacket(interface: UInt16, timestamp: UInt64, data: [UInt8], _ order: Endianness) -> [UInt8] {
        let body =
            u16(interface, order) + u16(0, order) + u32(UInt32(timestamp >> 32), order)
            + u32(UInt32(timestamp & 0xFFFF_FFFF), order) + u32(UInt32(data.count), order)
            + u32(UInt32(data.count), order) + data
        return block(2, body, order)
    }
}

extension CaptureReader.Result {
    /// The GRE payloads in event order.
    var grePayloads: [[UInt8]] {
        events.compactMap {
            if case .gre(_, _, let payload, _, _) = $0 { return payload }
            return nil
        }
    }

    /// The concatenated control stream of one direction (all connections).
    func controlStream(_ wanted: TCPDirection) -> [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case .controlData(_, let direction, let bytes, _, _) = event, direction == wanted { return bytes }
            return []
        }
    }

    var diagnostics: [CaptureDiagnostic] {
        events.compactMap {
            if case .diagnostic(let diagnostic, _, _) = $0 { return diagnostic }
            return nil
        }
    }

    var malformed: [CaptureError] {
        diagnostics.compactMap {
            if case .malformed(let error) = $0 { return error }
            return nil
        }
    }
}

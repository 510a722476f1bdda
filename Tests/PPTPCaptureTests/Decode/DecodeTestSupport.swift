import Foundation
import NIOCore
import Testing

@testable import PPTPCapture

/// One golden capture as `manifest.json` describes it.
struct GoldenCapture: CustomTestStringConvertible, Sendable {
    var name: String
    var pcap: String
    var innerPcap: String?
    var directory: String
    var user: String
    var password: String
    var auth: String
    var patternHex: String?
    var firstLine: String?

    var testDescription: String { name }

    /// Captures that use MS-CHAP with MPPE: their traffic must decrypt.
    var isEncrypted: Bool {
        ["01", "02", "03-", "03b", "05", "09", "10"].contains { name.hasPrefix($0) }
    }

    var serverLog: String {
        (try? String(contentsOfFile: directory + "/server-pppd.log", encoding: .utf8)) ?? ""
    }

    /// Every capture of the manifest. Empty when the fixtures are missing; `GoldenCaptures.require()` then fails.
    static let all: [GoldenCapture] = {
        guard let root = GoldenCaptureFiles.directory,
            let data = try? Data(contentsOf: root.appendingPathComponent("manifest.json")),
            let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else { return [] }
        return list.compactMap { entry in
            guard let name = entry["name"] as? String, let pcap = entry["pcap"] as? String else { return nil }
            let traffic = entry["traffic"] as? [String: Any]
            let ping = traffic?["ping_client_to_server"] as? [String: Any]
            let tcp = traffic?["tcp_client_to_server"] as? [String: Any]
            let inner = (entry["inner_pcap"] as? String).map { root.appendingPathComponent($0).path }
            return GoldenCapture(
                name: name,
                pcap: root.appendingPathComponent(pcap).path,
                innerPcap: inner.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil },
                directory: root.appendingPathComponent(name).path,
                user: entry["username"] as? String ?? "",
                password: entry["password"] as? String ?? "",
                auth: entry["auth"] as? String ?? "",
                patternHex: (ping?["pattern_hex"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                firstLine: tcp?["first_line"] as? String
            )
        }
    }()

    static var encrypted: [GoldenCapture] { all.filter(\.isEncrypted) }

    static func named(_ prefix: String) throws -> GoldenCapture {
        try #require(all.first { $0.name.hasPrefix(prefix) }, "capture \(prefix) missing from Tests/Fixtures/captures")
    }

    func decode(_ options: DecodeOptions = DecodeOptions()) throws -> DecodeReport {
        var options = options
        options.path = pcap
        let report = CaptureDecoder.decode(try CaptureFile.read(path: pcap), options: options)
        return report
    }

    func decodeWithPassword(_ password: String? = nil) throws -> DecodeReport {
        try decode(DecodeOptions(credentials: .password(password ?? self.password)))
    }

    /// The IP packets the server's ppp0 saw (Linux cooked v1: a 16-octet header before each).
    func innerPackets() throws -> [[UInt8]] {
        let path = try #require(innerPcap)
        let contents = CaptureFileReader.readAll(try CaptureFile.read(path: path))
        #expect(contents.error == nil)
        return contents.frames.map { Array($0.data.readableBytesView.dropFirst(16)) }
    }
}

/// The final acknowledged requests of the server's pppd log (`debug` output): the server's own request is the
/// one the client acknowledged (`rcvd [X ConfAck …]`), the client's the one the server acknowledged (`sent`).
struct PppdLog {
    let lines: [String]

    init(_ text: String) {
        lines = text.split(separator: "\n").map(String.init)
    }

    /// The options of the last `direction [protocolName ConfAck …]` line.
    func lastAck(_ protocolName: String, _ direction: String) -> [String]? {
        guard let line = lines.last(where: { $0.hasPrefix("\(direction) [\(protocolName) ConfAck ") }) else {
            return nil
        }
        return Self.options(line)
    }

    static func options(_ line: String) -> [String] {
        var result: [String] = []
        var current = ""
        var depth = 0
        for character in line {
            if character == "<" {
                depth += 1
                if depth == 1 { current = "" }
            }
            if depth > 0 { current.append(character) }
            if character == ">" && depth > 0 {
                depth -= 1
                if depth == 0 { result.append(current) }
            }
        }
        return result
    }

    /// The reason of the first `rcvd [LCP TermReq id=… "reason"]`.
    var firstReceivedTerminateReason: String? {
        guard let line = lines.first(where: { $0.hasPrefix("rcvd [LCP TermReq") }),
            let open = line.firstIndex(of: "\""), let close = line.lastIndex(of: "\""), open < close
        else { return nil }
        return String(line[line.index(after: open)..<close])
    }

    /// N of `No response to N echo-requests`.
    var echoTimeout: Int? {
        guard let line = lines.first(where: { $0.hasPrefix("No response to ") }) else { return nil }
        return Int(line.split(separator: " ")[3])
    }

    /// The E= code of a `sent [CHAP Failure …` line.
    var chapFailureCode: Int? {
        guard let line = lines.first(where: { $0.hasPrefix("sent [CHAP Failure") }),
            let range = line.range(of: "E=")
        else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// The records of a classic little-endian pcap file, for mutation tests that move whole frames.
enum PcapRecords {
    static func split(_ bytes: [UInt8]) -> (header: [UInt8], records: [[UInt8]]) {
        var records: [[UInt8]] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let length =
                Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16
                | Int(bytes[offset + 11]) << 24
            guard offset + 16 + length <= bytes.count else { break }
            records.append(Array(bytes[offset..<(offset + 16 + length)]))
            offset += 16 + length
        }
        return (Array(bytes.prefix(24)), records)
    }

    static func join(_ header: [UInt8], _ records: [[UInt8]]) -> [UInt8] {
        header + records.flatMap { $0 }
    }
}

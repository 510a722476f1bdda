import Foundation
import NIOCore
import PPP
import PPTPFuzzing
import Testing

@testable import PPTPCapture

/// Real captures cut short, corrupted and reordered with a seeded generator: the decoder never traps and always
/// reports what it could read.
@Suite struct MutatedCaptureTests {
    static let captures = ["01", "03b", "05", "09"]

    @Test(arguments: captures)
    func truncatedCapturesStillReport(prefix: String) throws {
        let capture = try GoldenCapture.named(prefix)
        let bytes = try GoldenCaptureFiles.bytes(capture.pcap)
        var random = SplitMix64(seed: 0x7472_756E_6361_7465 ^ UInt64(bytes.count))
        let full = try capture.decodeWithPassword()
        for _ in 0..<6 {
            let cut = Int.random(in: 0..<bytes.count, using: &random)
            let report = CaptureDecoder.decode(
                ByteBuffer(bytes: bytes.prefix(cut)),
                options: DecodeOptions(credentials: .password(capture.password))
            )
            #expect(report.file.frames <= full.file.frames)
            #expect(!report.headline.isEmpty)
            #expect(!ReportRenderer.render(report).isEmpty)
            if cut < 24 || (report.file.damage != nil && report.file.frames == 0) {
                #expect(report.outcome == .unreadable)
            } else if report.file.damage != nil {
                #expect(report.outcome == .damaged)
                #expect(report.headline.first?.hasPrefix("DAMAGED CAPTURE: ") == true)
                #expect(report.problems.first?.severity == .error)
            }
            // What was read decrypts as far as it goes: no garbage from a cut capture.
            for call in report.calls {
                #expect(call.mppe.clientToServer.invalid + call.mppe.serverToClient.invalid == 0)
            }
        }
    }

    @Test(arguments: captures)
    func corruptedCapturesNeverTrap(prefix: String) throws {
        let capture = try GoldenCapture.named(prefix)
        let bytes = try GoldenCaptureFiles.bytes(capture.pcap)
        var random = SplitMix64(seed: 0x666C_6970 ^ UInt64(bytes.count))
        for round in 0..<8 {
            var mutated = bytes
            let flips = round < 4 ? 1 : 16
            for _ in 0..<flips {
                let index = Int.random(in: 24..<mutated.count, using: &random)
                mutated[index] ^= UInt8.random(in: 1...255, using: &random)
            }
            let report = CaptureDecoder.decode(
                ByteBuffer(bytes: mutated),
                options: DecodeOptions(credentials: .password(capture.password))
            )
            #expect(!report.headline.isEmpty)
            #expect(!ReportRenderer.render(report).isEmpty)
            _ = try JSONEncoder().encode(report)
        }
    }

    @Test(arguments: captures)
    func swappedFramesStillDecrypt(prefix: String) throws {
        let capture = try GoldenCapture.named(prefix)
        let (header, records) = PcapRecords.split(try GoldenCaptureFiles.bytes(capture.pcap))
        var random = SplitMix64(seed: 0x7377_6170 ^ UInt64(records.count))
        let full = try capture.decodeWithPassword()
        let fullCall = try #require(full.calls.first)
        for _ in 0..<4 {
            var swapped = records
            // Neighbours swap, as on a real network; the decoder puts GRE back in sequence order.
            let index = Int.random(in: 1..<(records.count - 1), using: &random)
            swapped.swapAt(index, index + 1)
            let report = CaptureDecoder.decode(
                ByteBuffer(bytes: PcapRecords.join(header, swapped)),
                options: DecodeOptions(credentials: .password(capture.password))
            )
            let call = try #require(report.calls.first)
            #expect(call.mppe.clientToServer.invalid + call.mppe.serverToClient.invalid == 0)
            // Swapping a set-up message can cost the call its start; with a complete start everything decrypts.
            if call.authentication.credentialCheck == "password matches" && report.calls.count == 1 {
                #expect(
                    call.mppe.clientToServer.decrypted + call.mppe.serverToClient.decrypted
                        == fullCall.mppe.clientToServer.decrypted + fullCall.mppe.serverToClient.decrypted
                )
            }
        }
        // A far jump: one encrypted packet moved 40 frames later is decrypted from the late-key cache.
        if let first = records.indices.first(where: { records[$0].count > 100 && $0 + 41 < records.count && $0 > 60 }) {
            var moved = records
            let record = moved.remove(at: first)
            moved.insert(record, at: first + 40)
            let report = CaptureDecoder.decode(
                ByteBuffer(bytes: PcapRecords.join(header, moved)),
                options: DecodeOptions(credentials: .password(capture.password), reorderWindow: 0)
            )
            let call = try #require(report.calls.first)
            #expect(call.mppe.clientToServer.invalid + call.mppe.serverToClient.invalid == 0)
        }
    }
}

/// Crashers found by the fuzzers of `Fuzz/`, replayed through the same entry points. Files are named
/// `<target>-<anything>`, target being a key of `FuzzEntryPoints.all`.
@Suite struct FuzzRegressionTests {
    static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.appendingPathComponent("FuzzRegressions")
    }()

    static let files: [String] = {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }
            .sorted()
    }()

    @Test func regressionFolderIsThere() {
        #expect(!Self.files.isEmpty, "Tests/PPTPCaptureTests/FuzzRegressions is missing or empty")
    }

    @Test(arguments: files)
    func replaysWithoutTrapping(file: String) throws {
        let target = try #require(file.split(separator: "-").first.map(String.init))
        let entry = try #require(FuzzEntryPoints.all[target], "unknown fuzz target in \(file)")
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(file))
        entry(Array(data))
    }

    @Test(arguments: GoldenCapture.all.prefix(3))
    func entryPointsAcceptTheGoldenTraffic(capture: GoldenCapture) throws {
        let result = try CaptureReader.readAll(path: capture.pcap)
        for payload in result.grePayloads {
            FuzzEntryPoints.gre(payload)
            FuzzEntryPoints.ppp(Array(payload.dropFirst(16)))
        }
        FuzzEntryPoints.controlStream(result.controlStream(.toServer))
        FuzzEntryPoints.controlStream(result.controlStream(.toClient))
    }
}

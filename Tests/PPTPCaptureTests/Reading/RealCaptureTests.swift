import Foundation
import NIOCore
import Testing

@testable import PPTPCapture

/// The golden captures of `../shared/captures` (real pptpd/pptp-linux sessions).
@Suite struct RealCaptureTests {
    @Test func findsEveryGoldenCapture() {
        // 11 sessions; 08 (wrong password) has no inner capture.
        #expect(
            GoldenCaptureFiles.outer.count == 11,
            "captures folder: \(String(describing: GoldenCaptureFiles.directory))"
        )
        #expect(GoldenCaptureFiles.inner.count == 10)
    }

    @Test(arguments: GoldenCaptureFiles.all)
    func readsGoldenCaptureWithoutError(path: String) throws {
        let result = try CaptureReader.readAll(path: path)
        #expect(result.error == nil)
        #expect(result.malformed.isEmpty)
        #expect(result.statistics.ipv4ChecksumErrors == 0)
        #expect(result.statistics.malformedFrames == 0)
        guard case .pcap(let header) = result.format else {
            Issue.record("not read as classic pcap: \(String(describing: result.format))")
            return
        }
        #expect(header.resolution == .microseconds)
        #expect(header.byteOrder == .little)
        if path.hasSuffix(".inner-ppp0.pcap") {
            // Decrypted traffic on ppp0: Linux cooked v1, every frame an IPv4 datagram.
            #expect(header.linkType == .linuxSLL)
            #expect(result.statistics.framesByLinkType == [.linuxSLL: result.statistics.frames])
            #expect(result.statistics.ipDatagrams == result.statistics.frames)
            #expect(result.statistics.greDatagrams == 0)
        } else {
            #expect(header.linkType == .ethernet)
            // One control connection, opened with its handshake; everything before the damage-free end read.
            let opened = result.events.filter {
                if case .tcpOpened(_, .handshake, _, _) = $0 { return true }
                return false
            }
            #expect(opened.count == 1)
            #expect(result.statistics.tcp.connections == 1)
            #expect(result.statistics.tcp.gaps == 0)
            #expect(result.statistics.fragments.datagramsAbandoned == 0)
            #expect(result.statistics.fragments.datagramsIncompleteAtEnd == 0)
            #expect(result.statistics.fragments.fragments == 2 * result.statistics.fragments.datagramsReassembled)
            // Every GRE datagram is PPTP enhanced GRE: version 1, protocol 0x880B (RFC 2637 §4.1).
            for payload in result.grePayloads {
                #expect(payload.count >= 8)
                #expect(payload.count >= 8 && payload[1] & 0x07 == 1 && payload[2] == 0x88 && payload[3] == 0x0B)
            }
            // Control messages start with a Length and the Magic Cookie 0x1A2B3C4D (RFC 2637 §1.4).
            for direction in TCPDirection.allCases {
                let stream = result.controlStream(direction)
                #expect(stream.count >= 8 && stream[4..<8] == [0x1A, 0x2B, 0x3C, 0x4D])
            }
        }
    }

    @Test func eventsAreInFrameOrderWithTheirTimes() throws {
        let path = try #require(GoldenCaptureFiles.outer.first)
        let bytes = try GoldenCaptureFiles.bytes(path)
        let frames = CaptureFileReader.readAll(bytes).frames
        let result = CaptureReader.readAll(bytes)
        var previous = 0
        for event in result.events {
            #expect(event.frame >= previous)
            previous = event.frame
            if event.frame >= 1, event.frame <= frames.count {
                #expect(event.time == frames[event.frame - 1].timestamp)
            }
        }
    }

    @Test func fragmentedGREIsReassembledInCapture01() throws {
        let path = try #require(GoldenCaptureFiles.outer.first { $0.hasSuffix("01-mschapv2-mppe128-stateless.pcap") })
        let result = try CaptureReader.readAll(path: path)
        // tshark: frames 55/56 … 65/66 are six datagrams of 1480 + 33 octets of IP payload.
        #expect(result.statistics.fragments.fragments == 12)
        #expect(result.statistics.fragments.datagramsReassembled == 6)
        let reassembled = result.events.compactMap { event -> (payload: [UInt8], frames: [Int])? in
            if case .gre(_, _, let payload, let frames, _) = event, frames.count > 1 { return (payload, frames) }
            return nil
        }
        #expect(reassembled.map(\.frames) == [[55, 56], [57, 58], [59, 60], [61, 62], [63, 64], [65, 66]])
        #expect(reassembled.allSatisfy { $0.payload.count == 1480 + 33 })
    }

    @Test func reorderedGREOfCapture10ComesOutInWireOrder() throws {
        let path = try #require(
            GoldenCaptureFiles.outer.first { $0.hasSuffix("10-mschapv2-mppe128-gre-reordered.pcap") }
        )
        let result = try CaptureReader.readAll(path: path)
        // Client → server GRE sequence numbers (S bit set, RFC 2637 §4.1): 21 arrives before 20.
        let sequences = result.events.compactMap { event -> UInt32? in
            guard case .gre(let source, _, let payload, _, _) = event, source == .v4(192, 0, 2, 2),
                payload.count >= 12, payload[0] & 0x10 != 0
            else { return nil }
            return UInt32(payload[8]) << 24 | UInt32(payload[9]) << 16 | UInt32(payload[10]) << 8 | UInt32(payload[11])
        }
        let twentyOne = try #require(sequences.firstIndex(of: 21))
        let twenty = try #require(sequences.firstIndex(of: 20))
        #expect(twentyOne < twenty)
    }

    @Test func capture09EndsWithTheServerHalfClosedOnly() throws {
        let path = try #require(GoldenCaptureFiles.outer.first { $0.hasSuffix("09-client-vanishes-echo-timeout.pcap") })
        let result = try CaptureReader.readAll(path: path)
        let closes = result.events.compactMap { event -> String? in
            switch event {
            case .tcpHalfClosed(_, let direction, _, _): "half \(direction)"
            case .tcpClosed(_, let reason, _, _): "closed \(reason)"
            default: nil
            }
        }
        // The server sends FIN (then retransmits it six times); the vanished client never answers.
        #expect(closes == ["half to client", "closed endOfCapture"])
        #expect(result.statistics.tcp.segmentsAfterClose == 0)
    }

    @Test func capture08EndsWithAReset() throws {
        let path = try #require(GoldenCaptureFiles.outer.first { $0.hasSuffix("08-mschapv2-wrong-password.pcap") })
        let result = try CaptureReader.readAll(path: path)
        let last = result.events.last { if case .tcpClosed = $0 { true } else { false } }
        guard case .tcpClosed(let connection, .reset, 27, _) = last else {
            Issue.record("expected a reset at frame 27, got \(String(describing: last))")
            return
        }
        #expect(connection.server == .v4(192, 0, 2, 1))
        #expect(connection.serverPort == 1723)
        #expect(connection.client == .v4(192, 0, 2, 2))
    }
}

/// Our counts against tshark's, capture by capture.
@Suite(.enabled(if: TsharkRunner.isAvailable, "tshark is not installed: comparison with tshark skipped"))
struct TsharkComparisonTests {
    @Test(arguments: GoldenCaptureFiles.outer)
    func countsMatchTshark(path: String) throws {
        let result = try CaptureReader.readAll(path: path)
        let statistics = result.statistics

        let frames = try TsharkRunner.lines(["-r", path, "-T", "fields", "-e", "frame.number"])
        #expect(statistics.frames == frames.count)

        // With IP reassembly on (the default), tshark shows GRE only in the frame that completes a datagram, so
        // this counts GRE datagrams.
        let gre = try TsharkRunner.lines(["-r", path, "-Y", "gre", "-T", "fields", "-e", "frame.number"])
        #expect(statistics.greDatagrams == gre.count)
        #expect(result.grePayloads.count == gre.count)
        // …and the frames that complete them are ours too.
        let ourFrames = result.events.compactMap { event -> String? in
            if case .gre(_, _, _, let frames, _) = event { return frames.last.map(String.init) }
            return nil
        }
        #expect(ourFrames == gre)

        let payloadSegments = try TsharkRunner.lines([
            "-r", path, "-Y", "tcp.port == 1723 && tcp.len > 0", "-T", "fields", "-e", "frame.number",
        ])
        #expect(statistics.tcp.controlSegmentsWithPayload == payloadSegments.count)

        let fragments = try TsharkRunner.lines([
            "-r", path, "-Y", "ip.flags.mf == 1 || ip.frag_offset > 0", "-T", "fields", "-e", "frame.number",
        ])
        #expect(statistics.fragments.fragments == fragments.count)
    }

    @Test(arguments: GoldenCaptureFiles.outer)
    func controlStreamsMatchTsharkFollow(path: String) throws {
        let result = try CaptureReader.readAll(path: path)
        let streamIndex = try #require(
            try TsharkRunner.lines(["-r", path, "-Y", "tcp.port == 1723", "-T", "fields", "-e", "tcp.stream"]).first
        )
        // `follow,tcp,raw` prints the reassembled stream (retransmissions removed) as hex, node 1's lines indented.
        let output = try TsharkRunner.run(["-r", path, "-q", "-z", "follow,tcp,raw,\(streamIndex)"])
        var nodes: [String] = []
        var fromNode0: [UInt8] = []
        var fromNode1: [UInt8] = []
        for line in output.split(separator: "\n") {
            if line.hasPrefix("Node ") {
                nodes.append(String(line))
                continue
            }
            guard nodes.count == 2, !line.hasPrefix("="),
                let bytes = Self.hex(line.trimmingCharacters(in: .whitespaces))
            else { continue }
            if line.hasPrefix("\t") { fromNode1 += bytes } else { fromNode0 += bytes }
        }
        try #require(nodes.count == 2)
        let node0IsServer = nodes[0].hasSuffix(":1723")
        let toServer = node0IsServer ? fromNode1 : fromNode0
        let toClient = node0IsServer ? fromNode0 : fromNode1
        #expect(result.controlStream(.toServer) == toServer)
        #expect(result.controlStream(.toClient) == toClient)
        #expect(result.statistics.tcp.bytesToServer == toServer.count)
        #expect(result.statistics.tcp.bytesToClient == toClient.count)
        // Also the plain sum of tcp.len per direction (no control-port payload is retransmitted in these captures).
        let lengths = try TsharkRunner.lines([
            "-r", path, "-Y", "tcp.port == 1723 && tcp.len > 0 && !tcp.analysis.retransmission", "-T", "fields",
            "-e", "tcp.dstport", "-e", "tcp.len",
        ])
        var sums: [TCPDirection: Int] = [:]
        for line in lengths {
            let fields = line.split(separator: "\t")
            guard fields.count == 2, let length = Int(fields[1]) else { continue }
            sums[fields[0] == "1723" ? .toServer : .toClient, default: 0] += length
        }
        #expect(sums[.toServer, default: 0] == toServer.count)
        #expect(sums[.toClient, default: 0] == toClient.count)
    }

    @Test(arguments: GoldenCaptureFiles.inner)
    func innerCaptureCountsMatchTshark(path: String) throws {
        let result = try CaptureReader.readAll(path: path)
        let frames = try TsharkRunner.lines(["-r", path, "-T", "fields", "-e", "frame.number"])
        #expect(result.statistics.frames == frames.count)
        let ipFrames = try TsharkRunner.lines(["-r", path, "-Y", "ip", "-T", "fields", "-e", "frame.number"])
        #expect(result.statistics.ipv4Packets == ipFrames.count)
    }

    private static func hex(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

import Foundation
import MSCrypto
import NIOCore
import PPP
import Testing

@testable import PPTPCapture

/// `pptp decode` on the golden captures: structure, negotiation, authentication, decryption and endings, checked
/// against the pppd logs and the server's ppp0 capture beside each one.
@Suite struct DecodeGoldenCaptureTests {
    @Test func manifestListsEveryCapture() {
        #expect(GoldenCapture.all.count == 11, "Tests/Fixtures/captures/manifest.json missing or incomplete")
        #expect(GoldenCapture.encrypted.count == 7)
    }

    @Test(arguments: GoldenCapture.all)
    func decodesWithoutParseErrors(capture: GoldenCapture) throws {
        let report = try capture.decode()
        #expect(report.outcome == .ok)
        #expect(report.file.damage == nil)
        #expect(report.problems.isEmpty, "\(report.problems.map(\.text))")
        #expect(report.statistics.pppParseErrors == 0)
        #expect(report.statistics.controlMessagesRejected == 0)
        #expect(report.statistics.greNotPPTP == 0)
        #expect(report.statistics.greUnmatched == 0)
        #expect(report.connections.count == 1)
        let call = try #require(report.calls.first)
        #expect(report.calls.count == 1)
        #expect(call.kind == "outgoing")
        #expect(call.clientCallID != nil && call.serverCallID != nil)
        #expect(call.authentication.user == capture.user)
        #expect(call.client.vendor == "cananian")
        #expect(call.server.vendor == "linux")
        // Every GRE packet belongs to the call, and the timeline holds one line per control message and GRE packet.
        #expect(call.clientToServer.grePackets + call.serverToClient.grePackets == report.statistics.greDatagrams)
        #expect(report.timeline.filter { $0.kind == .gre }.count == report.statistics.greDatagrams)
        #expect(report.timeline.filter { $0.kind == .control }.count == report.statistics.controlMessages)
        #expect(report.timeline.map(\.frame) == report.timeline.map(\.frame).sorted())
        #expect(!report.headline.isEmpty)
        // Without a password nothing is decrypted and encrypted packets say so.
        if capture.isEncrypted {
            #expect(report.innerPackets.isEmpty)
            #expect(call.mppe.decryption == "not attempted (no password given)")
            #expect(report.timeline.contains { $0.text.contains("MPPE ccount=0 flushed (encrypted, ") })
        }
    }

    @Test(arguments: GoldenCapture.all)
    func negotiatedOptionsAgreeWithThePppdLog(capture: GoldenCapture) throws {
        let log = PppdLog(capture.serverLog)
        try #require(!log.lines.isEmpty, "server-pppd.log missing for \(capture.name)")
        let call = try #require(try capture.decode().calls.first)
        for (name, negotiation) in [("LCP", call.lcp), ("IPCP", call.ipcp), ("CCP", call.ccp), ("IPV6CP", call.ipv6cp)]
        {
            #expect(negotiation.serverOptions == log.lastAck(name, "rcvd"), "\(name) server request")
            #expect(negotiation.clientOptions == log.lastAck(name, "sent"), "\(name) client request")
        }
        // The pppd log names the MPPE mode it enabled.
        if let line = log.lines.first(where: { $0.hasPrefix("MPPE ") && $0.hasSuffix("compression enabled") }) {
            #expect(line == "MPPE \(call.mppe.strength ?? "") \(call.mppe.mode ?? "") compression enabled")
        } else {
            #expect(!call.mppe.negotiated)
        }
        #expect(call.authentication.method == capture.auth)
    }

    @Test(arguments: GoldenCapture.all)
    func endingAgreesWithThePppdLog(capture: GoldenCapture) throws {
        let log = PppdLog(capture.serverLog)
        let ending = try #require(try capture.decode().calls.first).ending
        if let unanswered = log.echoTimeout {
            #expect(ending.cause == .echoTimeout)
            #expect(ending.initiator == .server)
            #expect(ending.summary.contains("\(unanswered) LCP Echo-Requests that were never answered"))
            #expect(
                ending.steps.contains { $0.side == .server && $0.text.hasPrefix("server sent LCP Terminate-Request") }
            )
        } else if let code = log.chapFailureCode {
            #expect(ending.cause == .authenticationFailed)
            #expect(ending.initiator == .server)
            #expect(ending.summary.contains("E=\(code)"))
            #expect(ending.steps.contains { $0.text == "server sent LCP Terminate-Request \"Authentication failed\"" })
        } else {
            let reason = try #require(log.firstReceivedTerminateReason)
            #expect(ending.cause == .lcpTerminate)
            #expect(ending.initiator == .client)
            #expect(ending.brief == "ended by the client (LCP Terminate-Request \"\(reason)\")")
            #expect(ending.steps.contains { $0.text == "client sent Call-Clear-Request" })
        }
    }

    @Test(arguments: GoldenCapture.encrypted)
    func decryptsEveryPacketWithTheManifestPassword(capture: GoldenCapture) throws {
        let report = try capture.decodeWithPassword()
        #expect(report.outcome == .ok)
        let call = try #require(report.calls.first)
        #expect(call.authentication.credentialCheck == "password matches")
        #expect(call.authentication.authenticatorResponseVerified != false)
        let mppe = call.mppe
        let encrypted = mppe.clientToServer.encrypted + mppe.serverToClient.encrypted
        #expect(encrypted > 0)
        #expect(mppe.clientToServer.decrypted + mppe.serverToClient.decrypted == encrypted)
        #expect(mppe.decryption == "decrypted")
        // Every decrypted packet is a valid IPv4 packet with a correct header checksum.
        #expect(report.innerPackets.count == encrypted)
        for packet in report.innerPackets {
            let parsed = try IPv4Packet(parsing: ByteBuffer(bytes: packet.bytes))
            #expect(parsed.hasValidChecksum)
            #expect(parsed.header.totalLength == packet.bytes.count)
        }
        // The ping pattern is in the ICMP payloads, the first line of the TCP transfer in the TCP payloads.
        let pattern = try #require(capture.patternHex.flatMap { parseHex($0) })
        let icmp = report.innerPackets.filter { $0.bytes.count > 28 && $0.bytes[9] == 1 }
        #expect(icmp.contains { contains($0.bytes.dropFirst(28), pattern + pattern) })
        let tcpPayload = report.innerPackets.filter { $0.direction == .clientToServer && $0.bytes[9] == 6 }
            .flatMap { packet -> [UInt8] in
                let ihl = Int(packet.bytes[0] & 0x0F) * 4
                let dataOffset = Int(packet.bytes[ihl + 12] >> 4) * 4
                return Array(packet.bytes.dropFirst(ihl + dataOffset))
            }
        let firstLine = try #require(capture.firstLine)
        #expect(contains(tcpPayload[...], Array(firstLine.utf8)))
        // The same IP packets as the server's ppp0 saw, in any order.
        let expected = try capture.innerPackets()
        #expect(report.innerPackets.count == expected.count)
        #expect(multiset(report.innerPackets.map(\.bytes)) == multiset(expected))
        #expect(!report.timeline.contains { $0.text.contains("(encrypted, ") || $0.text.contains("NOT DECRYPTED") })
    }

    @Test(arguments: GoldenCapture.all.filter { ["04", "06", "07"].contains(String($0.name.prefix(2))) })
    func clearTrafficIsShownWithoutAPassword(capture: GoldenCapture) throws {
        let report = try capture.decode()
        let call = try #require(report.calls.first)
        #expect(!call.mppe.negotiated)
        #expect(call.mppe.decryption == "not encrypted")
        #expect(multiset(report.innerPackets.map(\.bytes)) == multiset(try capture.innerPackets()))
        #expect(report.weaknesses.contains { $0.title.hasPrefix("No encryption") })
    }

    @Test func reorderedPacketsOfCapture10DecryptInSequenceOrder() throws {
        let report = try GoldenCapture.named("10").decodeWithPassword()
        let call = try #require(report.calls.first)
        #expect(call.clientToServer.sequence.reordered == 1)
        #expect(call.clientToServer.sequence.missing == 0)
        #expect(call.mppe.clientToServer.failed == 0)
        // GRE 21 is shown before GRE 20 (wire order), both decrypted.
        let lines = report.timeline.filter { $0.direction == .clientToServer && [20, 21].contains($0.gre?.sequence) }
        #expect(lines.map { $0.gre?.sequence } == [21, 20])
        #expect(lines.allSatisfy { $0.text.contains("→ IPv4") })
    }

    @Test func wrongPasswordIsDetectedBeforeAnythingIsDecrypted() throws {
        let report = try GoldenCapture.named("01").decodeWithPassword("Not-Alices-Password")
        #expect(report.outcome == .wrongCredentials)
        #expect(report.outcome.rawValue == 3)
        #expect(report.headline.first?.hasPrefix("WRONG PASSWORD for call 1") == true)
        let call = try #require(report.calls.first)
        #expect(call.authentication.credentialCheck == "WRONG PASSWORD")
        #expect(call.mppe.decryption == "WRONG PASSWORD")
        #expect(call.mppe.clientToServer.decrypted + call.mppe.serverToClient.decrypted == 0)
        #expect(report.innerPackets.isEmpty)
        #expect(!report.timeline.contains { $0.text.contains("→") })
        #expect(report.credentials?.matched == 0)
    }

    @Test func capture08ReportsThePasswordTheClientDidNotUse() throws {
        let capture = try GoldenCapture.named("08")
        let right = try capture.decodeWithPassword("Heidi-Right-Pass")
        #expect(right.outcome == .wrongCredentials)
        #expect(right.calls.first?.authentication.failureCode == 691)
        let used = try capture.decodeWithPassword("Heidi-Wrong-Pass")
        #expect(used.outcome == .ok)
        #expect(used.calls.first?.authentication.credentialCheck == "password matches")
        #expect(used.calls.first?.authentication.outcome == "failed")
    }

    @Test func ntHashAndSecretsFileWorkLikeThePassword() throws {
        let capture = try GoldenCapture.named("02")
        let hash = NTPasswordHash(password: capture.password)
        let byHash = try capture.decode(DecodeOptions(credentials: .ntHash(hash)))
        #expect(byHash.outcome == .ok)
        #expect(byHash.innerPackets.count == 32)
        let secretsText = try String(contentsOfFile: capture.directory + "/config/chap-secrets", encoding: .utf8)
        let bySecrets = try capture.decode(DecodeOptions(credentials: .secrets(ChapSecrets(parsing: secretsText))))
        #expect(bySecrets.outcome == .ok)
        #expect(bySecrets.innerPackets.count == 32)
        let noUser = try capture.decode(DecodeOptions(credentials: .secrets(ChapSecrets(parsing: "carol * x *\n"))))
        #expect(noUser.calls.first?.authentication.credentialCheck == "no secret for this user")
        #expect(noUser.innerPackets.isEmpty)
    }

    @Test func papPasswordIsMaskedUnlessAsked() throws {
        let capture = try GoldenCapture.named("07")
        let masked = try capture.decode()
        let line = try #require(masked.timeline.first { $0.text.hasPrefix("PAP AuthReq") })
        #expect(line.text == "PAP AuthReq id=0x1 user=\"grace\" password=<hidden, 15 octets>")
        #expect(!ReportRenderer.render(masked).contains(capture.password))
        let shown = try capture.decode(DecodeOptions(showSecrets: true))
        #expect(shown.timeline.contains { $0.text == "PAP AuthReq id=0x1 user=\"grace\" password=\"Grace-PAP-Plain\"" })
        #expect(shown.calls.first?.authentication.password == capture.password)
        #expect(masked.weaknesses.first?.severity == .critical)
    }

    @Test func weaknessesNameTheMethodAndStrength() throws {
        func titles(_ prefix: String) throws -> [String] {
            try GoldenCapture.named(prefix).decode().weaknesses.map(\.title)
        }
        #expect(try titles("01").contains { $0.hasPrefix("MS-CHAPv2 handshake of user \"alice\" visible") })
        #expect(try titles("02").contains { $0.hasPrefix("MPPE 40-bit") })
        #expect(try titles("05").contains { $0.hasPrefix("MS-CHAPv1 in use") })
        #expect(try titles("06").contains { $0.hasPrefix("CHAP-MD5") })
        #expect(try titles("07").contains { $0.hasPrefix("PAP") })
        #expect(try !titles("01").contains { $0.hasPrefix("No encryption") || $0.hasPrefix("MPPE 40-bit") })
    }

    @Test func reportSurvivesAJSONRoundTrip() throws {
        let report = try GoldenCapture.named("09").decodeWithPassword()
        let data = try JSONEncoder().encode(report)
        let decoded = try JSONDecoder().decode(DecodeReport.self, from: data)
        #expect(decoded.calls == report.calls)
        #expect(decoded.headline == report.headline)
        #expect(decoded.timeline.count == report.timeline.count)
        #expect(decoded.outcome == report.outcome)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"echoTimeout\""))
        #expect(!text.contains("Ivan-Vanishes-9"))
    }

    @Test func textReportLeadsWithTheHeadline() throws {
        let report = try GoldenCapture.named("09").decodeWithPassword()
        let text = ReportRenderer.render(report)
        let lines = text.split(separator: "\n")
        #expect(lines.count > 50)
        #expect(
            lines[1].hasPrefix("▶ Call 1 (client 192.0.2.2 ↔ server 192.0.2.1): MS-CHAPv2 user \"ivan\" authenticated")
        )
        #expect(text.contains("ended by the server after 3 unanswered LCP Echo-Requests (echo timeout)"))
        #expect(text.contains("IPv4 203.0.113.20 > 203.0.113.1 ICMP echo request id="))
    }

    @Test func unreadableFileGivesTheUnreadableOutcome() {
        let missing = CaptureDecoder.decode(path: "/nonexistent/capture.pcap")
        #expect(missing.outcome == .unreadable)
        #expect(missing.headline.first?.contains("no such file or directory") == true)
        let garbage = CaptureDecoder.decode(ByteBuffer(bytes: Array("not a capture at all".utf8)))
        #expect(garbage.outcome == .unreadable)
    }
}

func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
    var index = haystack.startIndex
    while index + needle.count <= haystack.endIndex {
        if haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
        index += 1
    }
    return false
}

func multiset(_ packets: [[UInt8]]) -> [[UInt8]: Int] {
    var counts: [[UInt8]: Int] = [:]
    for packet in packets { counts[packet, default: 0] += 1 }
    return counts
}

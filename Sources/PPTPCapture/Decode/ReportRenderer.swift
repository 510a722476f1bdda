/// Prints a `DecodeReport` for people: the headline first, then the timeline, the calls, the weaknesses and the
/// problems. Plain words and exact numbers.
public enum ReportRenderer {
    /// What to print.
    public struct Sections: OptionSet, Sendable {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let headline = Self(rawValue: 1)
        public static let timeline = Self(rawValue: 2)
        public static let calls = Self(rawValue: 4)
        public static let weaknesses = Self(rawValue: 8)
        public static let problems = Self(rawValue: 16)
        public static let all: Self = [.headline, .timeline, .calls, .weaknesses, .problems]
    }

    /// The report as text.
    public static func render(_ report: DecodeReport, sections: Sections = .all) -> String {
        var out: [String] = []
        let file = report.file
        var title = "pptp decode \(file.path ?? "")"
        if let format = file.format {
            title += " — \(format), \(file.frames) frames, \(formatSeconds(file.durationSeconds, decimals: 3)) s"
        }
        out.append(title)
        if sections.contains(.headline) {
            for line in report.headline { out.append(wrap("▶ " + line, indent: "  ")) }
        }
        if sections.contains(.timeline) && !report.timeline.isEmpty {
            out.append("")
            out.append(heading("Timeline"))
            out.append(timelineLegend(report))
            let showCall = report.calls.count > 1
            for entry in report.timeline {
                out.append(timelineLine(entry, showCall: showCall))
            }
        }
        if sections.contains(.calls) {
            for connection in report.connections {
                out.append("")
                out.append(heading("Control connection \(connection.index)"))
                out += connectionLines(connection)
            }
            for call in report.calls {
                out.append("")
                out.append(heading("Call \(call.index)"))
                out += callLines(call)
            }
            if let search = report.passwordSearch {
                out.append("")
                out.append(heading("Word list"))
                out += searchLines(search)
            }
        }
        if sections.contains(.weaknesses) && !report.weaknesses.isEmpty {
            out.append("")
            out.append(heading("Weaknesses"))
            for weakness in report.weaknesses {
                let call = weakness.call.map { "call \($0): " } ?? ""
                out.append(
                    wrap("[\(weakness.severity.rawValue.uppercased())] \(call)\(weakness.title)", indent: "    ")
                )
                out.append(wrap("    " + weakness.detail, indent: "    "))
            }
        }
        if sections.contains(.problems) && !report.problems.isEmpty {
            out.append("")
            out.append(heading("Problems"))
            for problem in report.problems {
                out.append(wrap("[\(problem.severity.rawValue)] " + problem.text, indent: "    "))
            }
        }
        if sections.contains(.calls) {
            let s = report.statistics
            out.append("")
            out.append(
                "Counted: \(s.frames) frames, \(s.ipDatagrams) IP datagrams (\(s.ipFragments) fragments), \(s.controlMessages) control messages"
                    + " (\(s.controlMessagesRejected) refused), \(s.greDatagrams) GRE packets (\(s.greNotPPTP) not PPTP),"
                    + " \(s.innerIPPackets) inner IP packets, \(s.malformedFrames) malformed frames, \(s.tcpGaps) TCP gaps."
                    + " Outcome: \(report.outcome) (exit \(report.outcome.rawValue))."
            )
        }
        return out.joined(separator: "\n") + "\n"
    }

    private static func heading(_ text: String) -> String {
        "── \(text) " + String(repeating: "─", count: max(3, 60 - text.count))
    }

    private static func timelineLegend(_ report: DecodeReport) -> String {
        var text = "seconds since the first frame, #frame, direction"
        if let connection = report.connections.first {
            text += " (C = client \(connection.client.address), S = server \(connection.server.address))"
        }
        return text
    }

    static func timelineLine(_ entry: TimelineEntry, showCall: Bool) -> String {
        var line = pad(formatSeconds(entry.offset), 12, left: true) + "  " + pad("#\(entry.frame)", 6)
        line += " " + (entry.direction?.arrow ?? "   ") + "  "
        if showCall, let call = entry.call { line += "call \(call) " }
        if let gre = entry.gre {
            line += "GRE 0x\(hex(gre.callID, 4))"
            if let sequence = gre.sequence { line += " seq=\(sequence)" }
            if let acknowledgment = gre.acknowledgment { line += " ack=\(acknowledgment)" }
            line += " | "
        }
        return line + entry.text
    }

    private static func peer(_ peer: PeerReport, role: String) -> String {
        var text = "\(role) \(peer.address)" + (peer.port != 0 ? ":\(peer.port)" : "")
        if let host = peer.hostName { text += " host \"\(host)\"" }
        if let vendor = peer.vendor { text += " vendor \"\(vendor)\"" }
        if let firmware = peer.firmwareRevision { text += " firmware 0x\(hex(firmware, 4))" }
        if let version = peer.protocolVersion { text += " version \(version)" }
        if let framing = peer.framing { text += " framing \(framing)" }
        if let bearer = peer.bearer { text += " bearer \(bearer)" }
        return text
    }

    private static func connectionLines(_ connection: ControlConnectionReport) -> [String] {
        var lines = [
            "  " + peer(connection.client, role: "Client"),
            "  " + peer(connection.server, role: "Server"),
            "  \(connection.sawHandshake ? "Opened with its handshake" : "Already open when the capture started") at \(formatSeconds(connection.startOffset, decimals: 3)) s, last seen at \(formatSeconds(connection.endOffset, decimals: 3)) s",
            "  Messages: \(connection.messagesToServer) client→server, \(connection.messagesToClient) server→client; set-up: \(connection.setup ?? "no SCCRP seen")",
            "  Keep-alive: \(connection.echo.summary)",
        ]
        if let stop = connection.stop { lines.append("  Stop: \(stop)") }
        lines.append("  TCP: \(connection.closed)")
        for problem in connection.problems { lines.append("  Problem: \(problem)") }
        return lines.map { wrap($0, indent: "      ") }
    }

    private static func options(_ negotiation: NegotiationReport) -> [String] {
        var lines: [String] = []
        let name = pad(negotiation.protocolName, 8)
        if negotiation.clientOptions == nil && negotiation.serverOptions == nil {
            lines.append(
                "  \(name) "
                    + (negotiation.requests == 0 ? "not negotiated" : "not opened (\(negotiation.requests) requests)")
            )
        } else {
            lines.append(
                "  \(name) client asked "
                    + (negotiation.clientOptions.map { $0.isEmpty ? "nothing" : $0.joined(separator: " ") }
                        ?? "(no acknowledged request)")
            )
            lines.append(
                "  \(pad("", 8)) server asked "
                    + (negotiation.serverOptions.map { $0.isEmpty ? "nothing" : $0.joined(separator: " ") }
                        ?? "(no acknowledged request)")
            )
        }
        for note in negotiation.notes { lines.append("  \(pad("", 8)) \(note)") }
        return lines
    }

    private static func callLines(_ call: CallReport) -> [String] {
        var lines: [String] = []
        var header = "  \(call.kind) call"
        if let connection = call.connection { header += " on control connection \(connection)" }
        header +=
            ", \(formatSeconds(call.startOffset, decimals: 3)) s to \(formatSeconds(call.endOffset, decimals: 3)) s (\(formatSeconds(call.durationSeconds, decimals: 3)) s)"
        lines.append(header)
        lines.append("  " + peer(call.client, role: "Client"))
        lines.append("  " + peer(call.server, role: "Server"))
        let ids = [
            call.clientCallID.map { "client 0x\(hex($0, 4)) (GRE to the client)" },
            call.serverCallID.map { "server 0x\(hex($0, 4)) (GRE to the server)" },
        ].compactMap { $0 }
        lines.append("  Call IDs: " + (ids.isEmpty ? "unknown" : ids.joined(separator: ", ")))
        if let setup = call.setup { lines.append("  Set-up:  \(setup)") }
        if let framing = call.framing { lines.append("  Framing: \(framing)") }
        lines += options(call.lcp)
        lines += options(call.ipcp)
        if let client = call.clientTunnelAddress, let server = call.serverTunnelAddress {
            lines.append("           tunnel addresses: client \(client), server \(server)")
        }
        lines += options(call.ipv6cp)
        lines += options(call.ccp)
        let auth = call.authentication
        if let method = auth.method {
            var text = "  Auth:    \(method)"
            if let authenticator = auth.authenticator { text += ", \(authenticator) authenticates" }
            if let name = auth.authenticatorName { text += " as \"\(name)\"" }
            text += ", user \"\(auth.user ?? "?")\": \(auth.outcome.uppercased())"
            if let failure = auth.failure {
                text += " — \(failure)"
            } else if let message = auth.message {
                text += " (\"\(message)\")"
            }
            if auth.attempts > 1 { text += ", \(auth.attempts) attempts" }
            lines.append(text)
            var check = "           credentials: \(auth.credentialCheck)"
            if let detail = auth.credentialDetail { check += " — \(detail)" }
            if let verified = auth.authenticatorResponseVerified {
                check += verified ? "; the server's S= value verifies too" : "; the server's S= value does NOT verify"
            }
            lines.append(check)
            if let password = auth.password { lines.append("           password: \"\(password)\"") }
        } else {
            lines.append("  Auth:    none")
        }
        let mppe = call.mppe
        var mppeLine = "  MPPE:    "
        if mppe.negotiated {
            mppeLine += "\(mppe.strength ?? "?") \(mppe.mode ?? "?"): \(mppe.decryption)"
        } else {
            mppeLine += mppe.decryption
        }
        if let detail = mppe.detail { mppeLine += " — \(detail)" }
        lines.append(mppeLine)
        for (name, direction) in [("client→server", mppe.clientToServer), ("server→client", mppe.serverToClient)]
        where direction.encrypted > 0 {
            var text = "           \(name): \(direction.encrypted) encrypted, \(direction.decrypted) decrypted"
            if direction.late > 0 { text += " (\(direction.late) late, from the key cache)" }
            if direction.failed > 0 { text += ", \(direction.failed) not decrypted" }
            if direction.invalid > 0 { text += ", \(direction.invalid) decrypted into garbage" }
            if let first = direction.firstCoherencyCount, let last = direction.lastCoherencyCount {
                text += "; coherency count \(first)…\(last)"
            }
            if direction.skippedCounts > 0 { text += ", \(direction.skippedCounts) counts skipped" }
            if direction.resetRequests > 0 { text += ", \(direction.resetRequests) CCP Reset-Requests" }
            for (reason, count) in direction.failures.sorted(by: { $0.key < $1.key }) {
                text += "; \(count)× \(reason)"
            }
            lines.append(text)
        }
        for (name, traffic) in [("client→server", call.clientToServer), ("server→client", call.serverToClient)] {
            var text =
                "  \(name == "client→server" ? "Traffic:" : "        ") \(name): \(traffic.grePackets) GRE packets"
            if traffic.greAcknowledgmentOnly > 0 { text += " (\(traffic.greAcknowledgmentOnly) acknowledgment only)" }
            text +=
                ", \(traffic.greOctets) octets of PPP; \(traffic.pppControlPackets) control packets, \(traffic.pppDataFrames) data frames; \(traffic.ipPackets) IP packets, \(traffic.ipOctets) octets"
            let sequence = traffic.sequence
            if let first = sequence.first, let highest = sequence.highest {
                text +=
                    "; GRE seq \(first)…\(highest): \(sequence.missing) missing, \(sequence.reordered) reordered, \(sequence.duplicates) duplicates"
            }
            lines.append(text)
        }
        lines.append("  Echo:    \(call.echo.summary)")
        lines.append("  Ended:   \(call.ending.summary)")
        for step in call.ending.steps {
            lines.append(
                "           \(pad(formatSeconds(step.offset, decimals: 3), 10, left: true)) s  #\(step.frame)  \(step.text)"
            )
        }
        return lines.map { wrap($0, indent: "           ") }
    }

    private static func searchLines(_ search: PasswordSearchReport) -> [String] {
        var lines = [
            "  \(search.candidatesTried) candidates in \(formatSeconds(search.seconds, decimals: 3)) s: \(Int(search.candidatesPerSecond.rounded())) candidates/s"
        ]
        for result in search.results {
            var text = "  call \(result.call), \(result.method) user \"\(result.user)\": "
            if result.found {
                text += "FOUND at candidate \(result.candidateNumber ?? 0): "
                text += result.password.map { "\"\($0)\"" } ?? "(hidden; --show-secrets prints it)"
            } else {
                text += "not in the list"
            }
            lines.append(text)
        }
        return lines
    }

    private static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let count = text.count
        guard count < width else { return text }
        let spaces = String(repeating: " ", count: width - count)
        return left ? spaces + text : text + spaces
    }

    /// Wraps at 120 columns on spaces; continuation lines start with `indent`.
    static func wrap(_ text: String, indent: String, width: Int = 120) -> String {
        guard text.count > width else { return text }
        var lines: [String] = []
        var current = ""
        var first = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !first && !word.isEmpty && current.count + 1 + word.count > width && current.count > indent.count {
                lines.append(current)
                current = indent + word
            } else {
                current += (first ? "" : " ") + word
            }
            first = false
        }
        lines.append(current)
        return lines.joined(separator: "\n")
    }
}

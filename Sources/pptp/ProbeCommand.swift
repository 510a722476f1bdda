import ArgumentParser
import Foundation
import NIOCore
import PPTPClient

/// `pptp probe SERVER`: what a server offers, without credentials.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show what a PPTP server offers (vendor, framing, authentication methods, GRE) without credentials.",
        discussion: """
            Connects to TCP 1723, reports the Start-Control-Connection-Reply, places an outgoing call and runs \
            LCP until the server asks for authentication: the method it asks for, and which others it accepts \
            (each is proposed in a Configure-Nak), its MRU, and whether its GRE reaches us at all. Then it hangs \
            up politely. It never sends credentials.

            EXIT CODES
              0  probed: the server answered up to authentication
              1  local error (needs root for the raw GRE socket)
              3  the name does not resolve
              4  TCP port 1723 refused or unreachable
              5  the control connection failed (refused, or closed by the server)
              6  the server refused the call
              7  control connection up but no GRE from the server (GRE blocked)
              10 LCP did not get as far as authentication
            """
    )

    @Argument(help: "The server, by name or IPv4 address.")
    var server: String

    @Option(name: .long, help: "TCP port.")
    var port: Int = 1723

    @Option(name: .customLong("gre-timeout"), help: "Seconds to wait for GRE from the server.")
    var greTimeout: Int = 10

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let report = ProbeRunner.run(server: server, port: port, greTimeout: .seconds(Int64(greTimeout)))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write((try? encoder.encode(report)) ?? Data())
            print()
        } else {
            print(Self.render(report))
        }
        throw ExitCode(report.exitCode)
    }

    static func render(_ report: ProbeReport) -> String {
        var lines = ["\(report.exitCode == 0 ? "OK" : "PROBLEM"): \(report.outcome)"]
        lines.append("server     \(report.server):\(report.port)")
        if let control = report.control {
            lines.append(
                "PPTP       version \(control.protocolVersion), vendor \"\(control.vendor)\", host \"\(control.hostName)\", firmware \(control.firmwareRevision)"
            )
            lines.append(
                "           framing \(control.framing), bearer \(control.bearer), maximum channels \(control.maximumChannels)"
            )
        }
        if let call = report.call {
            lines.append(
                call.connected
                    ? "call       connected (their Call ID \(call.peerCallID ?? 0), receive window \(call.peerWindow ?? 0))"
                    : "call       refused: \(call.refusal ?? "?")"
            )
            lines.append(
                "GRE        \(report.greFromServer > 0 ? "\(report.greFromServer) packet(s) from the server: GRE gets through" : "nothing from the server: GRE BLOCKED")"
            )
        }
        if !report.lcp.serverOptions.isEmpty {
            lines.append("LCP        server asks: \(report.lcp.serverOptions.joined(separator: " "))")
            if let mru = report.lcp.mru { lines.append("           MRU \(mru)") }
        }
        if let offered = report.lcp.offered {
            lines.append(
                "auth       offers \(offered); accepts \(report.lcp.accepted.joined(separator: ", ")); refuses \(report.lcp.refused.isEmpty ? "none tried" : report.lcp.refused.joined(separator: ", "))"
            )
        }
        for weakness in report.weaknesses { lines.append("weakness   \(weakness)") }
        return lines.joined(separator: "\n")
    }
}

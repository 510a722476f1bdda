import ArgumentParser
import Foundation
import PPP
import PPTPNetwork
import PPTPTestbed

/// `pptp demo`: a server and a client in two throw-away network namespaces.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run a PPTP server and client in two throw-away network namespaces, ping and move data through the tunnel.",
        discussion: """
            Creates two network namespaces joined by a veth (203.0.113.1 and 203.0.113.2), starts `pptp serve` \
            in one and `pptp connect` in the other with a throw-away user (MS-CHAPv2 + MPPE-128), shows the \
            negotiation, pings through the tunnel (198.51.100.0/24), moves a few megabytes, prints the \
            throughput, and removes everything. Nothing is changed outside the two namespaces.

            EXIT CODES
              0  the tunnel came up and carried the pings and the data intact
              1  something failed (the logs are printed)
              77 not root
            """
    )

    @Option(name: .long, help: "Megabytes to move through the tunnel.")
    var megabytes: Int = 16

    func run() async throws {
        guard isRoot() else {
            printError("pptp demo needs root: it creates network namespaces, TUN devices and a raw GRE socket.")
            throw ExitCode(CommonExit.notRoot)
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let bed: Testbed
        do {
            bed = try Testbed(executable: executable, prefix: "pptp-demo")
        } catch {
            printError("cannot create the namespaces: \(error)")
            throw ExitCode(1)
        }
        defer { bed.tearDown() }
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        let password = String((0..<16).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
        func fail(_ text: String) -> ExitCode {
            printError("demo failed: \(text)")
            printError("--- server log ---\n" + bed.log(bed.serverLog))
            printError("--- client log ---\n" + bed.log(bed.clientLog(0)))
            return ExitCode(1)
        }
        print(
            "pptp demo: server namespace \(bed.serverNamespace) (\(bed.serverAddress)), client namespace \(bed.clientNamespaces[0]) (\(bed.clientAddress(0)))"
        )
        do {
            try bed.writeServerConfiguration(users: [(user: "demo", secret: password)])
            try bed.startServer()
            print(
                "  server  listening on \(bed.serverAddress):1723, tunnel \(bed.tunnelAddress), pool \(bed.poolStart)-\(bed.poolEnd), MS-CHAPv2 + MPPE-128 required"
            )
            try bed.startClient(user: "demo", password: password)
        } catch {
            throw fail("\(error)")
        }
        guard bed.waitForTunnel(timeout: 30) else { throw fail("the tunnel did not come up in 30 s") }
        for line in bed.log(bed.clientLog(0)).split(separator: "\n") {
            for marker in ["control connection up", "authenticated with", "encryption:", "tunnel up:"]
            where line.contains(marker) {
                if let range = line.range(of: marker) { print("  client  " + line[range.lowerBound...]) }
            }
        }
        guard let clientAddress = bed.clientTunnelAddress() else { throw fail("no tunnel address in the client log") }
        let rtts = (try? Probes.ping(from: bed.clientNamespaces[0], to: bed.tunnelAddress, count: 3)) ?? []
        guard rtts.count == 3 else { throw fail("ping through the tunnel: \(rtts.count)/3 answered") }
        print(
            "  ping    \(clientAddress) → \(bed.tunnelAddress): 3/3, round trip \(rtts.map { String(format: "%.2f", $0 * 1000) }.joined(separator: ", ")) ms"
        )
        let back = (try? Probes.ping(from: bed.serverNamespace, to: clientAddress, count: 2)) ?? []
        guard back.count == 2 else { throw fail("ping back from the server: \(back.count)/2 answered") }
        print("  ping    \(bed.tunnelAddress) → \(clientAddress): 2/2")
        let transfer: Probes.Transfer
        do {
            transfer = try Probes.transfer(
                from: bed.clientNamespaces[0],
                to: bed.serverNamespace,
                address: bed.tunnelAddress,
                bytes: megabytes * 1_000_000
            )
        } catch {
            throw fail("TCP transfer: \(error)")
        }
        guard transfer.intact else {
            throw fail(
                "TCP transfer: \(transfer.bytesReceived) of \(transfer.bytesSent) bytes, SHA-256 \(transfer.receivedDigest == transfer.sentDigest ? "equal" : "different")"
            )
        }
        print(
            String(
                format: "  data    %d MB client → server in %.2f s: %.0f Mbit/s through MPPE-128, SHA-256 identical",
                megabytes,
                transfer.seconds,
                transfer.megabitsPerSecond
            )
        )
        bed.tearDown()
        print("  done    namespaces, interfaces and processes removed")
    }
}

import Foundation
import Glibc
import NIOCore
import PPP
import PPTP
import PPTPNetwork
import PPTPTestbed
import Testing

/// End-to-end tests: the real `pptp serve` and `pptp connect` processes in network namespaces
/// the tests create and delete (addresses from RFC 5737 ranges only). They need root and
/// /dev/net/tun; otherwise they are skipped with the reason printed.
/// Every suite that runs real processes in network namespaces or the lab VM, one at a time: the
/// lab's emulated VM starves when twenty end-to-end clients run beside it, and the namespace
/// checks of one suite must not see another's.
@Suite(.serialized) struct RealNetworkTests {}

enum EndToEnd {
    /// The `pptp` binary built beside this test bundle.
    static let executable: String? = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [bundle.deletingLastPathComponent().appendingPathComponent("pptp").path]
        // Inside an .xctest bundle the binary sits two levels deeper.
        candidates.append(
            bundle.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("pptp").path
        )
        var repository = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { repository.deleteLastPathComponent() }
        candidates.append(repository.appendingPathComponent(".build/debug/pptp").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Why the tests cannot run here, or nil.
    static let skipReason: String? = {
        if geteuid() != 0 { return "not root: end-to-end tests need network namespaces, TUN and raw sockets" }
        if !FileManager.default.fileExists(atPath: "/dev/net/tun") { return "no /dev/net/tun" }
        if executable == nil { return "the pptp binary was not found beside the tests (run `swift build` first)" }
        return nil
    }()

    static var enabled: Bool {
        if let skipReason { print("skipping end-to-end test: \(skipReason)") }
        return skipReason == nil
    }

    static func testbed(clients: Int = 1) throws -> Testbed {
        try Testbed(executable: executable ?? "pptp", clients: clients, prefix: "pptp-e2e")
    }

    /// Runs a command and returns its exit status and output.
    static func shell(_ arguments: [String]) -> (Int32, String) {
        guard let output = try? Command.run(arguments) else { return (-1, "") }
        return (output.status, output.text + output.errorText)
    }

    /// Waits for a process to exit, up to `timeout` seconds.
    static func waitForExit(_ process: ChildProcess, timeout: Double) -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if let status = try? process.poll() { return status }
            usleep(50_000)
        }
        return nil
    }
}

extension RealNetworkTests {
    @Suite(.serialized) struct EndToEndTests {
        static let password = "Alice-Secret-1"

        @Test func tunnelComesUpWithMSCHAPv2AndMPPE128AndCarriesData() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            // A LAN behind the server, to see the ICMP "fragmentation needed" of a router.
            let lan = try NetworkNamespace.create(prefix: "pptp-e2e")
            defer { try? lan.delete() }
            _ = try VethPair.create(bed.serverNamespace, IPv4Address(192, 0, 2, 1), lan, IPv4Address(192, 0, 2, 2))
            try lan.ip(["route", "add", "default", "via", "192.0.2.1"])
            _ = try bed.serverNamespace.execute(["sysctl", "-qw", "net.ipv4.ip_forward=1"])

            try bed.writeServerConfiguration(users: [(user: "alice", secret: Self.password)])
            try bed.startServer()
            try bed.startClient(user: "alice", password: Self.password, arguments: ["--route", "192.0.2.0/24"])
            #expect(bed.waitForTunnel(timeout: 30), "client log:\n\(bed.log(bed.clientLog(0)))")
            let client = try #require(bed.clientTunnelAddress())
            let clientLog = bed.log(bed.clientLog(0))
            #expect(clientLog.contains("authenticated with MS-CHAPv2"))
            #expect(clientLog.contains("encryption: MPPE 128-bit stateless"))

            // Ping both ways.
            #expect(try Probes.ping(from: bed.clientNamespaces[0], to: bed.tunnelAddress, count: 3).count == 3)
            #expect(try Probes.ping(from: bed.serverNamespace, to: client, count: 3).count == 3)

            // 100 MB over TCP through the tunnel arrive with the same SHA-256.
            let transfer = try Probes.transfer(
                from: bed.clientNamespaces[0],
                to: bed.serverNamespace,
                address: bed.tunnelAddress,
                bytes: 100_000_000,
                timeout: 300
            )
            #expect(transfer.intact, "received \(transfer.bytesReceived) of \(transfer.bytesSent)")
            print(
                "end-to-end: 100 MB in \(transfer.seconds) s (\(Int(transfer.megabitsPerSecond)) Mbit/s, debug build)"
            )

            // Full tunnel MTU with DF passes; one byte more gets ICMP "fragmentation needed".
            if Command.locate("ping") != nil {
                let (fits, _) = EndToEnd.shell([
                    "ip", "netns", "exec", lan.name, "ping", "-M", "do", "-s", "1372", "-c", "1", "-W", "2",
                    client.description,
                ])
                #expect(fits == 0, "a 1400-byte ping with DF must pass")
                let (tooBig, output) = EndToEnd.shell([
                    "ip", "netns", "exec", lan.name, "ping", "-M", "do", "-s", "1373", "-c", "1", "-W", "2",
                    client.description,
                ])
                #expect(tooBig != 0)
                #expect(output.contains("Frag needed") && output.contains("mtu = 1400"), "ping said: \(output)")
            } else {
                print("skipping the MTU check: no ping binary")
            }
        }

        struct PolicyCase: CustomStringConvertible, Sendable {
            var name: String
            var serverMethods: [String]
            var serverStrengths: [Int]
            var serverRequired: Bool
            var serverStateful: Bool
            var clientArguments: [String]
            /// What the client log must say, or the exit code it must end with.
            var expect: Expectation
            enum Expectation: Sendable {
                case success(String)
                case failure(Int32)
            }
            var description: String { name }
        }

        static let policyCases: [PolicyCase] = [
            .init(
                name: "MPPE-40",
                serverMethods: ["mschapv2"],
                serverStrengths: [40],
                serverRequired: true,
                serverStateful: false,
                clientArguments: ["--mppe", "40,128"],
                expect: .success("MPPE 40-bit stateless")
            ),
            .init(
                name: "MPPE-128 stateful",
                serverMethods: ["mschapv2"],
                serverStrengths: [128],
                serverRequired: true,
                serverStateful: true,
                clientArguments: ["--stateful"],
                expect: .success("MPPE 128-bit stateful")
            ),
            .init(
                name: "MS-CHAPv1",
                serverMethods: ["mschapv1"],
                serverStrengths: [128],
                serverRequired: true,
                serverStateful: false,
                clientArguments: ["--allow", "mschapv1"],
                expect: .success("authenticated with MS-CHAPv1")
            ),
            .init(
                name: "CHAP-MD5 without MPPE",
                serverMethods: ["chap-md5"],
                serverStrengths: [],
                serverRequired: false,
                serverStateful: false,
                clientArguments: ["--allow", "chap-md5", "--mppe", "none"],
                expect: .success("authenticated with CHAP-MD5")
            ),
            .init(
                name: "PAP without MPPE",
                serverMethods: ["pap"],
                serverStrengths: [],
                serverRequired: false,
                serverStateful: false,
                clientArguments: ["--allow", "pap", "--mppe", "none"],
                expect: .success("authenticated with PAP")
            ),
            // Refused: the server allows only MS-CHAPv2 + MPPE-128.
            .init(
                name: "PAP refused",
                serverMethods: ["mschapv2"],
                serverStrengths: [128],
                serverRequired: true,
                serverStateful: false,
                clientArguments: ["--allow", "pap", "--mppe", "none"],
                expect: .failure(8)
            ),
            .init(
                name: "MPPE-40 refused",
                serverMethods: ["mschapv2"],
                serverStrengths: [128],
                serverRequired: true,
                serverStateful: false,
                clientArguments: ["--mppe", "40"],
                expect: .failure(9)
            ),
            .init(
                name: "stateful refused",
                serverMethods: ["mschapv2"],
                serverStrengths: [128],
                serverRequired: true,
                serverStateful: false,
                clientArguments: ["--stateful", "--mppe", "128"],
                expect: .success("MPPE 128-bit stateless")
            ),
        ]

        @Test(arguments: policyCases)
        func policyCombination(_ policy: PolicyCase) throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(
                users: [(user: "alice", secret: Self.password)],
                methods: policy.serverMethods,
                strengths: policy.serverStrengths.isEmpty ? [128] : policy.serverStrengths,
                required: policy.serverRequired,
                stateful: policy.serverStateful
            )
            try bed.startServer()
            let process = try bed.startClient(user: "alice", password: Self.password, arguments: policy.clientArguments)
            switch policy.expect {
            case .success(let text):
                #expect(bed.waitForTunnel(timeout: 30), "\(policy): client log:\n\(bed.log(bed.clientLog(0)))")
                #expect(
                    bed.log(bed.clientLog(0)).contains(text),
                    "\(policy): expected '\(text)' in:\n\(bed.log(bed.clientLog(0)))"
                )
                #expect(try Probes.ping(from: bed.clientNamespaces[0], to: bed.tunnelAddress, count: 2).count == 2)
            case .failure(let code):
                let status = EndToEnd.waitForExit(process, timeout: 40)
                #expect(
                    status == code,
                    "\(policy): exit \(String(describing: status)); log:\n\(bed.log(bed.clientLog(0)))"
                )
            }
        }

        @Test func wrongPasswordEndsWithTheAuthenticationExitCode() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(users: [(user: "heidi", secret: "Heidi-Right-Pass")])
            try bed.startServer()
            let process = try bed.startClient(user: "heidi", password: "Heidi-Wrong-Pass")
            let status = EndToEnd.waitForExit(process, timeout: 30)
            #expect(status == 8)
            let clientLog = bed.log(bed.clientLog(0))
            #expect(clientLog.contains("691"), "the MS-CHAP error code is named:\n\(clientLog)")
            // The server stays up and logs one line about it.
            #expect(try bed.server?.poll() == nil)
            let lines = bed.log(bed.serverLog).split(separator: "\n").filter {
                $0.contains("authentication failed") && !$0.contains(" debug ")
            }
            #expect(lines.count == 1, "server log:\n\(bed.log(bed.serverLog))")
        }

        @Test func twentyClientsAtOnceWithoutCrossTalk() throws {
            guard EndToEnd.enabled else { return }
            let count = 20
            let bed = try EndToEnd.testbed(clients: count)
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(users: (0..<count).map { (user: "user\($0)", secret: "secret-\($0)") })
            try bed.startServer()
            for index in 0..<count { try bed.startClient(index, user: "user\(index)", password: "secret-\(index)") }
            var addresses: [IPv4Address] = []
            for index in 0..<count {
                #expect(bed.waitForTunnel(index, timeout: 60), "client \(index):\n\(bed.log(bed.clientLog(index)))")
                if let address = bed.clientTunnelAddress(index) { addresses.append(address) }
            }
            #expect(Set(addresses).count == count)
            // Each client moves its own data; each transfer arrives intact.
            for index in 0..<count {
                let transfer = try Probes.transfer(
                    from: bed.clientNamespaces[index],
                    to: bed.serverNamespace,
                    address: bed.tunnelAddress,
                    port: UInt16(6000 + index),
                    bytes: 1_000_000
                )
                #expect(transfer.intact, "client \(index)")
            }
            // A ping to each client reaches that client only: its own counters move, no other's.
            for (index, address) in addresses.enumerated() {
                let before = tunReceived(bed, index)
                #expect(try Probes.ping(from: bed.serverNamespace, to: address, count: 1).count == 1)
                #expect(tunReceived(bed, index) > before)
                let other = (index + 1) % addresses.count
                let otherBefore = tunReceived(bed, other)
                _ = try Probes.ping(from: bed.serverNamespace, to: address, count: 1)
                #expect(tunReceived(bed, other) == otherBefore, "client \(other) saw client \(index)'s traffic")
            }
        }

        /// Packets received on the client's TUN device (written by our data plane into it).
        private func tunReceived(_ bed: Testbed, _ index: Int) -> Int {
            let (_, text) = EndToEnd.shell([
                "ip", "-n", bed.clientNamespaces[index].name, "-s", "link", "show", "pptp0",
            ])
            // "TX: bytes packets …" of the TUN is what our process wrote into the kernel … the RX side
            // of the interface as the kernel sees it is what we wrote. Take the RX packets line.
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let header = lines.firstIndex(where: { $0.hasPrefix("RX:") }), header + 1 < lines.count else {
                return -1
            }
            return Int(lines[header + 1].split(separator: " ")[1]) ?? -1
        }

        @Test func killedClientIsEndedByTheServerWithinTheEchoTimeout() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(
                users: [(user: "ivan", secret: "Ivan-Vanishes-9")],
                echoInterval: 2,
                echoFailures: 2
            )
            try bed.startServer()
            let process = try bed.startClient(user: "ivan", password: "Ivan-Vanishes-9")
            #expect(bed.waitForTunnel(timeout: 30))
            process.signal(SIGKILL)
            // The kernel closes the dead client's TCP connection: the server ends the session at once.
            #expect(
                bed.waitForLog(bed.serverLog, containing: "session end", timeout: 20),
                "server log:\n\(bed.log(bed.serverLog))"
            )
            // The address and the Call ID are free again: a new client gets the same address.
            let before = bed.clientTunnelAddress()
            try bed.startClient(user: "ivan", password: "Ivan-Vanishes-9")
            usleep(300_000)
            #expect(bed.waitForLog(bed.clientLog(0), containing: "tunnel up:", timeout: 30))
            #expect(bed.clientTunnelAddress() != nil)
            _ = before
        }

        @Test func vanishedClientIsEndedByEchoTimeout() throws {
            guard EndToEnd.enabled else { return }
            guard Command.locate("nft") != nil else {
                print("skipping: nft is not installed")
                return
            }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(
                users: [(user: "ivan", secret: "Ivan-Vanishes-9")],
                echoInterval: 2,
                echoFailures: 2
            )
            try bed.startServer()
            let process = try bed.startClient(user: "ivan", password: "Ivan-Vanishes-9")
            #expect(bed.waitForTunnel(timeout: 30))
            // As capture 09: the client's namespace goes silent, then the client dies without a word.
            try installRules(
                "table inet vanish {\n chain in {\n type filter hook input priority 0; policy drop;\n }\n chain out {\n type filter hook output priority 0; policy drop;\n }\n}\n",
                in: bed.clientNamespaces[0]
            )
            process.signal(SIGKILL)
            // Echo every 2 s, 2 unanswered, then LCP Terminate (2 × 3 s): within ~15 s.
            #expect(
                bed.waitForLog(bed.serverLog, containing: "session end", timeout: 30),
                "server log:\n\(bed.log(bed.serverLog))"
            )
            #expect(
                bed.log(bed.serverLog).contains("no response to 2 LCP echo-requests"),
                "server log:\n\(bed.log(bed.serverLog))"
            )
            let status = EndToEnd.shell([bed.executable, "status", "--socket", bed.statusSocket, "--json"]).1
            #expect(status.contains("\"sessions\":[]"), "status: \(status)")
            #expect(status.contains("\"addressesInUse\":0"), "status: \(status)")
        }

        private func installRules(_ rules: String, in namespace: NetworkNamespace) throws {
            let file = NSTemporaryDirectory() + "pptp-e2e-\(getpid()).nft"
            try rules.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let (status, output) = EndToEnd.shell(["ip", "netns", "exec", namespace.name, "nft", "-f", file])
            try #require(status == 0, "nft: \(output)")
        }

        @Test func clientWithReconnectComesBackAfterServerRestart() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(users: [(user: "alice", secret: Self.password)])
            try bed.startServer()
            try bed.startClient(user: "alice", password: Self.password, arguments: ["--reconnect"])
            #expect(bed.waitForTunnel(timeout: 30))
            bed.stopServer()
            try bed.startServer()
            let end = Date().addingTimeInterval(45)
            var ups = 0
            while Date() < end {
                ups = bed.log(bed.clientLog(0)).components(separatedBy: "tunnel up:").count - 1
                if ups >= 2 { break }
                usleep(200_000)
            }
            #expect(ups >= 2, "client log:\n\(bed.log(bed.clientLog(0)))")
            #expect(try Probes.ping(from: bed.clientNamespaces[0], to: bed.tunnelAddress, count: 2).count == 2)
        }

        @Test func blockedGREIsDiagnosed() throws {
            guard EndToEnd.enabled else { return }
            guard Command.locate("nft") != nil else {
                print("skipping: nft is not installed")
                return
            }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(users: [(user: "alice", secret: Self.password)])
            try bed.startServer()
            try installRules(
                "table inet pptpe2e {\n chain in {\n type filter hook input priority 0;\n ip protocol gre drop\n }\n}\n",
                in: bed.clientNamespaces[0]
            )
            let process = try bed.startClient(
                user: "alice",
                password: Self.password,
                arguments: ["--gre-timeout", "5"]
            )
            let exit = EndToEnd.waitForExit(process, timeout: 30)
            #expect(exit == 7, "client log:\n\(bed.log(bed.clientLog(0)))")
            #expect(bed.log(bed.clientLog(0)).contains("no GRE from the server"))
        }

        @Test func nothingOfOursIsLeftBehind() throws {
            guard EndToEnd.enabled else { return }
            let namespaces = try NetworkNamespace.list().filter { $0.hasPrefix("pptp-e2e-\(getpid())-") }
            #expect(namespaces.isEmpty, "left: \(namespaces)")
            // Nothing was ever added to our own namespace.
            let (_, routes) = EndToEnd.shell(["ip", "route", "show", "proto", "157"])
            #expect(routes.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            let (_, links) = EndToEnd.shell(["ip", "-o", "link", "show"])
            #expect(!links.contains("pptp"), "a pptp interface in the default namespace: \(links)")
        }
    }
}

extension RealNetworkTests {
    @Suite(.serialized) struct HandshakeLimitTests {
        /// A TCP connection that completes SCCRQ but never places a call is closed after the
        /// handshake time-out (DESIGN.md "Server": limits).
        @Test func controlConnectionWithoutACallIsClosed() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(
                users: [(user: "alice", secret: "x")],
                extra: "[limits]\nhandshake_timeout = 2"
            )
            try bed.startServer()
            let server = bed.serverAddress
            let (received, closedByServer): ([UInt8], Bool) = try bed.clientNamespaces[0].run {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                let connected = withIPv4SocketAddress(server, port: 1723) { connect(fd, $0, $1) }
                guard connected == 0 else { return ([], false) }
                let request = Array(
                    ControlMessage.startControlConnectionRequest(.init()).serialized().readableBytesView
                )
                _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                // A bound on the wait only, so that a server that never closes fails the test instead
                // of hanging it (the handshake time-out is 2 s, the stop time-out 10 s).
                var timeout = timeval(tv_sec: 30, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                // Read until the server closes: recv returns 0 (an orderly close), not -1 (the bound).
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 512)
                while true {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    guard count > 0 else { return (received, count == 0) }
                    received += buffer[..<count]
                }
            }
            var decoder = ControlStreamDecoder()
            decoder.append(received)
            let messages = try decoder.drain()
            // The server answered SCCRQ, then, with no call placed, stopped the control connection
            // (Stop-Control-Connection-Request) and closed the TCP connection (after the stop
            // time-out, as the request stays unanswered).
            guard messages.count == 2, case .message(.startControlConnectionReply) = messages[0],
                case .message(.stopControlConnectionRequest) = messages[1]
            else {
                Issue.record("expected SCCRP then StopCCRQ, got \(messages)")
                return
            }
            #expect(closedByServer, "the server closed the connection")
            #expect(bed.log(bed.serverLog).contains("no call within"))
        }
    }
}

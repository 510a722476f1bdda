import Foundation
import Glibc
import PPP
import PPTPNetwork
import PPTPTestbed
import Testing

/// Interop with the real pptpd, pptp-linux and pppd in the qemu VM of `../shared/lab`
/// (`lab.sh serve` / `lab.sh client`). Skipped with the reason printed where the lab cannot run
/// (no image in .lab-cache, no qemu, not root); `.ci/run` builds the image so CI runs them.
enum Lab {
    static let script: String? = {
        var repository = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { repository.deleteLastPathComponent() }
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["PPTP_LAB"] { candidates.append(override + "/lab.sh") }
        candidates.append(repository.deletingLastPathComponent().appendingPathComponent("shared/lab/lab.sh").path)
        candidates.append("/work/shared/lab/lab.sh")
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }()

    static let cache: String = {
        if let override = ProcessInfo.processInfo.environment["LAB_CACHE"] { return override }
        var repository = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { repository.deleteLastPathComponent() }
        return repository.appendingPathComponent(".lab-cache").path
    }()

    static let skipReason: String? = {
        if let reason = EndToEnd.skipReason { return reason }
        guard script != nil else { return "../shared/lab/lab.sh not found (set PPTP_LAB)" }
        guard FileManager.default.fileExists(atPath: cache + "/rootfs.img") else {
            return "no lab image in \(cache) (run lab.sh build; .ci/run does)"
        }
        guard Command.locate("qemu-system-x86_64") != nil else { return "qemu-system-x86_64 is not installed" }
        return nil
    }()

    static var enabled: Bool {
        if let skipReason { print("skipping lab interop test: \(skipReason)") }
        return skipReason == nil
    }

    /// Runs lab.sh with the cache in the repository.
    @discardableResult
    static func run(_ arguments: [String]) -> (Int32, String) {
        guard let script else { return (-1, "") }
        return EndToEnd.shell(["env", "LAB_CACHE=\(cache)", "bash", script] + arguments)
    }

    static func stop() { run(["stop"]) }

    static var consoleServe: String { cache + "/serve/console.log" }
    /// The client log and VM console of the lab run under way, for failure messages (the suite is serialized).
    nonisolated(unsafe) static var diagnosis: (log: String, console: String)?
    static var consoleAccel: String { cache + "/serve-accel/console.log" }
    /// accel-ppp, built on the host by `lab.sh build-accel` (`.ci/run` does).
    static var accelReason: String? {
        FileManager.default.fileExists(atPath: cache + "/accel-ppp.tar")
            ? nil : "no accel-ppp build in \(cache) (run lab.sh build-accel; .ci/run does)"
    }
    static var accelEnabled: Bool {
        guard enabled else { return false }
        if let accelReason { print("skipping accel-ppp interop test: \(accelReason)") }
        return accelReason == nil
    }
    static var consoleClient: String { cache + "/client/console.log" }
    static var namespace: NetworkNamespace? { NetworkNamespace.existing("pptplab") }
}

/// The real server the lab VM runs.
enum LabServer {
    /// pptpd with these pppd options.
    case pptpd(options: String)
    /// accel-ppp with lab.sh's configuration, or with this accel-ppp.conf.
    case accel(configuration: String?)

    var console: String {
        switch self {
        case .pptpd: return Lab.consoleServe
        case .accel: return Lab.consoleAccel
        }
    }
}

extension RealNetworkTests {
    @Suite(.serialized) struct LabInteropTests {
        /// Our client against the real pptpd; returns the client's log after it ends.
        func connect(
            serverOptions: String,
            user: String = "labuser",
            password: String = "labpass",
            clientArguments: [String] = [],
            expectUp: Bool = true,
            check: (NetworkNamespace, String) throws -> Void = { _, _ in }
        ) throws -> (Int32?, String) {
            try connect(
                to: .pptpd(options: serverOptions),
                user: user,
                password: password,
                clientArguments: clientArguments,
                expectUp: expectUp,
                check: check
            )
        }

        /// Our client against a real server in the lab VM; returns its exit status and log after it
        /// ends (SIGTERM once `check` has run, when the tunnel is expected up).
        func connect(
            to server: LabServer,
            user: String = "labuser",
            password: String = "labpass",
            clientArguments: [String] = [],
            expectUp: Bool = true,
            check: (NetworkNamespace, String) throws -> Void = { _, _ in }
        ) throws -> (Int32?, String) {
            defer { Lab.stop() }
            let directory = NSTemporaryDirectory() + "pptp-lab-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let arguments: [String]
            switch server {
            case .pptpd(let options):
                arguments = ["serve", "--background", "--opts", options]
            case .accel(let configuration):
                var accel = ["serve-accel", "--background"]
                if let configuration {
                    try configuration.write(toFile: directory + "/accel-ppp.conf", atomically: true, encoding: .utf8)
                    accel += ["--conf", directory + "/accel-ppp.conf"]
                }
                arguments = accel
            }
            let (status, output) = Lab.run(arguments)
            try #require(status == 0, "lab \(arguments[0]): \(output)")
            let namespace = try #require(Lab.namespace)
            try (password + "\n").write(toFile: directory + "/password", atomically: true, encoding: .utf8)
            let log = directory + "/connect.log"
            Lab.diagnosis = (log, server.console)
            let process = try namespace.spawn(
                [
                    EndToEnd.executable ?? "pptp", "connect", "198.51.100.1", "--user", user, "--password-file",
                    directory + "/password", "--log-level", "debug",
                ]
                    + clientArguments,
                output: .file(log)
            )
            var exit: Int32?
            if expectUp {
                let up = waitFor(log, "tunnel up:", timeout: 60)
                #expect(up, "client log:\n\(read(log))\nVM console:\n\(read(server.console).suffix(3000))")
                if up { try check(namespace, read(log)) }
                process.signal(SIGTERM)
            }
            exit = EndToEnd.waitForExit(process, timeout: 60)
            if exit == nil { process.signal(SIGKILL) }
            return (exit, read(log))
        }

        func waitFor(_ path: String, _ text: String, timeout: Double) -> Bool {
            let end = Date().addingTimeInterval(timeout)
            while Date() < end {
                if read(path).contains(text) { return true }
                usleep(100_000)
            }
            return false
        }

        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

        /// 50 pings of 1400 random octets must come back intact (through MPPE both ways).
        func pingIntact(_ namespace: NetworkNamespace, _ address: IPv4Address) throws {
            let answered = try Probes.ping(
                from: namespace,
                to: address,
                count: 50,
                payload: 1372,
                timeout: 2,
                randomPayload: true
            )
            if answered.count < 48, let (log, console) = Lab.diagnosis {
                // What both ends said, for a failure that does not come back when run alone.
                let status = (try? namespace.execute(["ip", "-s", "link", "show", "pptp0"]).text) ?? ""
                Issue.record(
                    "\(answered.count)/50 pings came back intact\nclient log:\n\(read(log))\n\(status)\nVM console:\n\(read(console).suffix(5000))"
                )
            }
            #expect(answered.count >= 48, "\(answered.count)/50 pings came back intact")
        }

        @Test func ourClientAgainstPptpdWithMSCHAPv2AndMPPE128() throws {
            guard Lab.enabled else { return }
            let (exit, log) = try connect(serverOptions: "require-mschap-v2 require-mppe-128") { namespace, log in
                #expect(log.contains("encryption: MPPE 128-bit stateless"))
                try pingIntact(namespace, IPv4Address(203, 0, 113, 1))
            }
            #expect(exit == 0, "log:\n\(log)")
        }

        @Test func ourClientAgainstPptpdWithMPPE40() throws {
            guard Lab.enabled else { return }
            let (exit, log) = try connect(
                serverOptions: "require-mschap-v2 require-mppe-40",
                clientArguments: ["--mppe", "40,128"]
            ) { namespace, log in
                #expect(log.contains("MPPE 40-bit"))
                try pingIntact(namespace, IPv4Address(203, 0, 113, 1))
            }
            #expect(exit == 0, "log:\n\(log)")
        }

        @Test func ourClientAgainstPptpdWithMSCHAPv1() throws {
            guard Lab.enabled else { return }
            let (exit, log) = try connect(
                serverOptions: "require-mschap require-mppe-128",
                clientArguments: ["--allow", "mschapv1"]
            ) { namespace, log in
                #expect(log.contains("authenticated with MS-CHAPv1"))
                try pingIntact(namespace, IPv4Address(203, 0, 113, 1))
            }
            #expect(exit == 0, "log:\n\(log)")
        }

        @Test func ourClientRequestsStatefulMPPEFromPptpd() throws {
            guard Lab.enabled else { return }
            // pppd never requests stateful itself: this is the one check of our stateful mode
            // against the kernel's MPPE.
            let (exit, log) = try connect(
                serverOptions: "require-mschap-v2 require-mppe-128 mppe-stateful",
                clientArguments: ["--stateful"]
            ) { namespace, log in
                #expect(log.contains("MPPE 128-bit stateful"), "log:\n\(log)")
                try pingIntact(namespace, IPv4Address(203, 0, 113, 1))
            }
            #expect(exit == 0, "log:\n\(log)")
        }

        @Test func wrongPasswordAgainstPptpdIsReportedInOurWords() throws {
            guard Lab.enabled else { return }
            let (exit, log) = try connect(
                serverOptions: "require-mschap-v2 require-mppe-128",
                password: "not-the-password",
                expectUp: false
            )
            #expect(exit == 8, "log:\n\(log)")
            #expect(log.contains("691"), "the real server's E=691 in our words:\n\(log)")
        }

        @Test func probeOfTheRealPptpd() throws {
            guard Lab.enabled else { return }
            defer { Lab.stop() }
            let (status, output) = Lab.run(["serve", "--background", "--opts", "require-mschap-v2 require-mppe-128"])
            try #require(status == 0, "lab serve: \(output)")
            let namespace = try #require(Lab.namespace)
            let probe = try namespace.execute([EndToEnd.executable ?? "pptp", "probe", "198.51.100.1", "--json"])
            #expect(probe.status == 0, "\(probe.text)\(probe.errorText)")
            #expect(probe.text.contains("\"vendor\" : \"linux\""), "\(probe.text)")
            #expect(probe.text.contains("\"offered\" : \"MS-CHAPv2\""), "\(probe.text)")
            #expect(probe.text.contains("\"greFromServer\" : 0") == false)
        }

        @Test func realPptpLinuxClientAgainstOurServer() throws {
            guard Lab.enabled else { return }
            defer { Lab.stop() }
            let (status, output) = Lab.run(["netns"])
            try #require(status == 0, "lab netns: \(output)")
            let namespace = try #require(Lab.namespace)
            let directory = NSTemporaryDirectory() + "pptp-lab-server-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try "\"labuser\" * \"labpass\" *\n".write(
                toFile: directory + "/chap-secrets",
                atomically: true,
                encoding: .utf8
            )
            try """
            listen = "198.51.100.2"
            name = "pptpd"
            [tunnel]
            local = "203.0.113.1"
            pool = ["203.0.113.100-203.0.113.199"]
            [auth]
            methods = ["mschapv2"]
            secrets = "\(directory)/chap-secrets"
            [status]
            socket = "\(directory)/status.sock"
            """.write(toFile: directory + "/pptp.toml", atomically: true, encoding: .utf8)
            let serverLog = directory + "/serve.log"
            let server = try namespace.spawn(
                [EndToEnd.executable ?? "pptp", "serve", "--config", directory + "/pptp.toml", "--log-level", "debug"],
                output: .file(serverLog)
            )
            defer { _ = try? server.terminate() }
            #expect(waitFor(serverLog, "listening on", timeout: 20))
            let (clientStatus, clientOutput) = Lab.run(["client", "198.51.100.2", "labuser", "labpass", "--background"])
            try #require(clientStatus == 0, "lab client: \(clientOutput)")
            let up = waitFor(Lab.consoleClient, "LAB-TUNNEL-UP", timeout: 90)
            #expect(up, "VM console:\n\(read(Lab.consoleClient).suffix(4000))\nserver log:\n\(read(serverLog))")
            guard up else { return }
            #expect(waitFor(Lab.consoleClient, "LAB-PING-OK", timeout: 30), "the VM's pings through our server")
            #expect(read(serverLog).contains("session start: user \"labuser\""))
            // From our side into the VM's tunnel address, with random payloads.
            let console = read(Lab.consoleClient)
            if let line = console.split(separator: "\n").first(where: { $0.contains("LAB-TUNNEL-UP") }),
                let token = line.split(separator: " ").first(where: { $0.hasPrefix("203.0.113.") }),
                let address = IPv4Address(String(token.split(separator: "/")[0]))
            {
                try pingIntact(namespace, address)
            }
            #expect(
                read(Lab.consoleClient).contains("MPPE 128-bit stateless compression enabled"),
                "pppd says MPPE-128 stateless"
            )
        }
    }
}

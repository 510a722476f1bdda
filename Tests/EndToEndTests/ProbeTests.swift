import Foundation
import Glibc
import PPP
import PPTPNetwork
import PPTPTestbed
import Testing

/// `pptp probe` against our own `pptp serve` in namespaces, in several configurations.
extension RealNetworkTests {
    @Suite(.serialized) struct ProbeTests {
        struct Probe: Decodable {
            struct LCP: Decodable {
                var offered: String?
                var accepted: [String]
                var refused: [String]
                var askedForAuthentication: Bool
            }
            struct Control: Decodable {
                var vendor: String
                var protocolVersion: String
            }
            var exitCode: Int32
            var outcome: String
            var greFromServer: Int
            var control: Control?
            var lcp: LCP
            var weaknesses: [String]
        }

        private func probe(_ bed: Testbed) throws -> (Int32, Probe?, String) {
            let output = try bed.clientNamespaces[0].execute([
                bed.executable, "probe", bed.serverAddress.description, "--json", "--gre-timeout", "5",
            ])
            let report = try? JSONDecoder().decode(Probe.self, from: Data(output.text.utf8))
            return (output.status, report, output.text + output.errorText)
        }

        @Test func reportsWhatADefaultServerOffers() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(users: [(user: "alice", secret: "x")])
            try bed.startServer()
            let (status, report, text) = try probe(bed)
            #expect(status == 0, "\(text)")
            let r = try #require(report, "\(text)")
            #expect(r.control?.vendor == "swift-pptp")
            #expect(r.control?.protocolVersion == "1.0")
            #expect(r.greFromServer > 0)
            #expect(r.lcp.offered == "MS-CHAPv2")
            #expect(r.lcp.accepted == ["MS-CHAPv2"])
            #expect(Set(r.lcp.refused).isSuperset(of: ["MS-CHAPv1", "CHAP-MD5", "PAP"]), "\(text)")
            #expect(r.lcp.askedForAuthentication)
            // The probe said goodbye: no session is left on the server.
            #expect(bed.waitForLog(bed.serverLog, containing: "ended before the network was up", timeout: 10))
        }

        @Test func reportsWeakMethodsAServerAccepts() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(
                users: [(user: "alice", secret: "x")],
                methods: ["mschapv2", "pap", "chap-md5"],
                required: false
            )
            try bed.startServer()
            let (status, report, text) = try probe(bed)
            #expect(status == 0, "\(text)")
            let r = try #require(report, "\(text)")
            #expect(Set(r.lcp.accepted) == ["MS-CHAPv2", "CHAP-MD5", "PAP"], "\(text)")
            #expect(r.lcp.refused.contains("MS-CHAPv1"))
            #expect(r.weaknesses.contains { $0.contains("PAP") })
        }

        @Test func reportsGREBlocked() throws {
            guard EndToEnd.enabled else { return }
            guard Command.locate("nft") != nil else {
                print("skipping: nft is not installed")
                return
            }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            try bed.writeServerConfiguration(users: [(user: "alice", secret: "x")])
            try bed.startServer()
            let file = NSTemporaryDirectory() + "pptp-probe-\(getpid()).nft"
            try "table inet probe {\n chain in {\n type filter hook input priority 0;\n ip protocol gre drop\n }\n}\n"
                .write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let rules = try bed.clientNamespaces[0].execute(["nft", "-f", file])
            try #require(rules.status == 0, "\(rules.errorText)")
            let (status, report, text) = try probe(bed)
            #expect(status == 7, "\(text)")
            #expect(report?.outcome.contains("no GRE") == true, "\(text)")
        }

        @Test func reportsARefusedConnection() throws {
            guard EndToEnd.enabled else { return }
            let bed = try EndToEnd.testbed()
            defer { bed.tearDown() }
            // No server running.
            let (status, report, text) = try probe(bed)
            #expect(status == 4, "\(text)")
            #expect(report?.outcome.contains("refused") == true, "\(text)")
        }
    }
}

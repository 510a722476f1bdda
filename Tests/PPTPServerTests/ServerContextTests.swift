import Glibc
import Logging
import PPP
import PPTP
import Testing

@testable import PPTPServer

@Suite struct ServerContextTests {
    static func context(hostName: String) throws -> ServerContext {
        var configuration = ServerConfiguration()
        configuration.hostName = hostName
        return ServerContext(
            configuration: configuration,
            secrets: try ChapSecrets(parsing: "alice * secret\n"),
            logger: Logger(label: "test")
        )
    }

    /// SCCRP carries the configured host name, or this machine's (RFC 2637 §2.2), never an empty field.
    @Test func sccrpHostNameIsConfiguredOrTheMachines() throws {
        #expect(try Self.context(hostName: "vpn.example.net").controlConfiguration.hostName == "vpn.example.net")
        var buffer = [CChar](repeating: 0, count: 256)
        #expect(gethostname(&buffer, 255) == 0)
        let machine = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(!machine.isEmpty)
        #expect(try Self.context(hostName: "").controlConfiguration.hostName == machine)
    }
}

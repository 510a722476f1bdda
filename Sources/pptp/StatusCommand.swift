import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PPTPNetwork
import PPTPServer

/// `pptp status`: the live sessions of a running server, from its local control socket.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List the live sessions of a running `pptp serve`.",
        discussion: """
            EXIT CODES
              0  listed
              1  no server answers on the socket
            """
    )

    @Option(name: .long, help: "The server's status socket.")
    var socket: String = "/run/pptp/status.sock"

    @Flag(name: .long, help: "Print the raw JSON.")
    var json = false

    func run() async throws {
        let data: Data
        do {
            data = try await Self.fetch(path: socket)
        } catch {
            printError("no server answers on \(socket): \(error)")
            throw ExitCode(1)
        }
        if json {
            FileHandle.standardOutput.write(data)
            return
        }
        guard let status = try? JSONDecoder().decode(ServerStatus.self, from: data) else {
            printError("unexpected answer on \(socket)")
            throw ExitCode(1)
        }
        print(Self.render(status))
    }

    static func fetch(path: String) async throws -> Data {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let collected = NIOLockedBytes()
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Collector(sink: collected))
                    }
                }
                .connect(unixDomainSocketPath: path).get()
            try await channel.closeFuture.get()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        return collected.data
    }

    static func render(_ status: ServerStatus) -> String {
        var lines: [String] = []
        lines.append(
            "\(status.sessions.count) session(s) on \(status.listen), up \(Int(status.uptime)) s; addresses in use \(status.addressesInUse)/\(status.poolSize)"
        )
        if status.counters.greUnknownSession > 0 || status.counters.spoofedSource > 0 {
            lines.append(
                "dropped: \(status.counters.greUnknownSession) GRE for unknown sessions, \(status.counters.spoofedSource) spoofed source addresses"
            )
        }
        let c = status.counters
        let failures = [
            ("poll", c.pollFailures), ("TUN read", c.tunReadFailures), ("TUN write", c.tunWriteFailures),
            ("GRE receive", c.greReceiveFailures), ("GRE send", c.greSendFailures),
        ].filter { $0.1 > 0 }
        if !failures.isEmpty {
            lines.append("system call failures: " + failures.map { "\($0.1) \($0.0)" }.joined(separator: ", "))
        }
        if c.sendDropped > 0 || c.fragmentationNeededSent > 0 || c.tunNoSession > 0 || c.tunMalformed > 0 {
            lines.append(
                "to clients: \(c.sendDropped) dropped (window or MRU), \(c.fragmentationNeededSent) Fragmentation-Needed sent, \(c.tunNoSession) with no session, \(c.tunMalformed) malformed"
            )
        }
        guard !status.sessions.isEmpty else { return lines.joined(separator: "\n") }
        lines.append(
            "USER              PEER             ADDRESS          UPTIME   BYTES IN   BYTES OUT  LOST  REORD  AUTH/ENCRYPTION"
        )
        for s in status.sessions {
            func pad(_ text: String, _ width: Int) -> String {
                text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
            }
            lines.append(
                pad(s.user ?? "-", 18) + pad(s.peer, 17) + pad(s.address ?? "-", 17) + pad("\(Int(s.uptime))s", 9)
                    + pad("\(s.bytesIn)", 11)
                    + pad("\(s.bytesOut)", 11) + pad("\(s.lost)", 6) + pad("\(s.reordered)", 7)
                    + "\(s.method ?? "-")/\(s.encryption ?? "none")"
            )
        }
        return lines.joined(separator: "\n")
    }
}

/// Bytes collected by the status client.
final class NIOLockedBytes: Sendable {
    private let box = NIOLockedValueBox(Data())
    var data: Data { box.withLockedValue { $0 } }
    func append(_ bytes: ByteBuffer) { box.withLockedValue { $0.append(contentsOf: bytes.readableBytesView) } }
}

final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let sink: NIOLockedBytes
    init(sink: NIOLockedBytes) { self.sink = sink }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { sink.append(unwrapInboundIn(data)) }
}

import Foundation
import NIOCore
import NIOPosix

/// The local control socket of `pptp status`: a client connects to the Unix socket and reads
/// one JSON document describing the live sessions.
enum StatusService {
    static func start(path: String, group: any EventLoopGroup, runtime: PPTPServerRuntime) async throws -> any Channel {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // A stale socket from a crashed run would make bind fail.
        try? FileManager.default.removeItem(atPath: path)
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatusHandler(runtime: runtime))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        // Only root (the owner) may read the sessions.
        chmod(path, 0o600)
        return channel
    }
}

final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let runtime: PPTPServerRuntime

    init(runtime: PPTPServerRuntime) { self.runtime = runtime }

    func channelActive(context: ChannelHandlerContext) {
        let runtime = self.runtime
        let channel = context.channel
        // The status waits for the data plane's snapshot without blocking this event loop.
        let promise = channel.eventLoop.makePromise(of: ServerStatus.self)
        promise.completeWithTask { await runtime.status() }
        promise.futureResult.whenSuccess { status in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = (try? encoder.encode(status)) ?? Data("{}".utf8)
            var buffer = channel.allocator.buffer(capacity: data.count + 1)
            buffer.writeBytes(data)
            buffer.writeInteger(UInt8(ascii: "\n"))
            channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

import Glibc
import PPP
import PPTP
import PPTPNetwork
import Testing

/// Not a test: a quick figure for one sendmmsg/recvmmsg batch of 32 GRE packets between two
/// namespaces, printed when PPTP_MEASURE=1 (skipped otherwise). Benchmarks measure, tests check
/// behaviour; this lives here only until the benchmark suite takes it over.
@Suite(.enabled(if: getenv("PPTP_MEASURE") != nil && Privileges.available, "set PPTP_MEASURE=1 (as root) to measure"))
struct GREBatchMeasurement {
    @Test func sendAndReceiveBatchesOf32() throws {
        let pair = try NamespacePair()
        defer { try? pair.close() }
        let sender = try pair.left.run { try RawGRESocket(bufferSize: 4 << 20) }
        let receiver = try pair.right.run { try RawGRESocket(bufferSize: 4 << 20) }
        defer {
            sender.close()
            receiver.close()
        }
        let outgoing = try PacketBatch(capacity: 32)
        let incoming = try PacketBatch(capacity: 32)
        let payloadLength = 1384
        for slot in 0..<32 {
            let header = GREHeader(
                payloadLength: UInt16(payloadLength),
                callID: 1,
                sequenceNumber: UInt32(slot),
                acknowledgmentNumber: 0
            )
            let written = header.write(to: UnsafeMutableRawBufferPointer(rebasing: outgoing.buffer(slot)[64...]))
            outgoing.count = slot + 1
            outgoing[slot] = PacketMetadata(
                offset: 64,
                length: written + payloadLength,
                peer: NamespacePair.rightAddress
            )
        }
        func now() -> UInt64 {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        }
        var results: [(send: Double, receive: Double, packetsPerSecond: Double)] = []
        for run in 0..<6 {
            let batches = 10_000
            var sendTime: UInt64 = 0
            var receiveTime: UInt64 = 0
            var moved = 0
            let start = now()
            for _ in 0..<batches {
                let t0 = now()
                _ = try sender.send(outgoing)
                let t1 = now()
                var got = 0
                while got < 32 {
                    let count = try receiver.receive(into: incoming)
                    if count == 0 { guard try waitReadable(receiver.fileDescriptor, seconds: 1) else { break } }
                    got += count
                }
                receiveTime += now() - t1
                sendTime += t1 - t0
                moved += got
            }
            let total = Double(now() - start)
            if run > 0 {  // the first run warms up
                results.append(
                    (
                        Double(sendTime) / Double(batches), Double(receiveTime) / Double(batches),
                        Double(moved) / total * 1e9
                    )
                )
            }
        }
        let sorted = results.sorted { $0.packetsPerSecond < $1.packetsPerSecond }
        let median = sorted[sorted.count / 2]
        print(
            """
            GRE batch of 32 × \(payloadLength + 16) octets between two namespaces over veth, one thread \
            (median of \(results.count) runs of 10 000 batches):
              sendmmsg: \(Int(median.send)) ns per batch (\(Int(median.send / 32)) ns per packet, includes the \
            kernel's veth delivery)
              recvmmsg: \(Int(median.receive)) ns per batch (\(Int(median.receive / 32)) ns per packet)
              send + receive: \(Int(median.packetsPerSecond)) packets/s \
            (min \(Int(sorted.first?.packetsPerSecond ?? 0)), max \(Int(sorted.last?.packetsPerSecond ?? 0)))
              receiver: \(receiver.statistics)
            """
        )
        #expect(receiver.statistics.invalidIPHeaders == 0)
    }
}

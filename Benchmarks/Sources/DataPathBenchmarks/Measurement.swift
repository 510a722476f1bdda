import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

/// Runs `packets` packets of `size` octets from the client to the server of `link`. Acknowledgment-only packets
/// from the server are copied into a fixed buffer (as the data plane copies into its send batch) and given to the
/// client at the start of the next encapsulation batch.
func measureOurs<S: Shell>(_ link: inout S, slots: Slots, size: Int, packets: Int, verify: Bool = false) -> Sample {
    let template = ipPacket(size: size, seed: size)
    let headroom = TunnelSession.headroom
    var ranges = [Range<Int>](repeating: 0..<0, count: batch)
    let ackStorage = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 32, alignment: 16)
    defer { ackStorage.deallocate() }
    var ackLengths = [Int](repeating: 0, count: 64)
    var ackCount = 0
    var sample = Sample()
    var now = link.now
    var sent = 0
    while sent < packets {
        // Refill the slots with the IP packet, as a TUN read would (not timed).
        for index in 0..<batch {
            let slot = slots.slot(index)
            template.withUnsafeBytes {
                slot.baseAddress!.advanced(by: headroom).copyMemory(from: $0.baseAddress!, byteCount: size)
            }
        }
        // Encapsulate (client), after the acknowledgments that came back.
        let a0 = bench_allocation_count()
        let t0 = timestamp()
        for index in 0..<ackCount {
            let packet = UnsafeMutableRawBufferPointer(
                rebasing: ackStorage[(index * 32)..<(index * 32 + ackLengths[index])]
            )
            blackHole(link.clientReceive(packet, now: now))
        }
        ackCount = 0
        for index in 0..<batch {
            let result = link.clientSend(slots.slot(index), payload: headroom..<(headroom + size), now: now)
            switch result {
            case .success(let range): ranges[index] = range
            case .failure(let reason): fatalError("client dropped a packet: \(reason)")
            }
            now = now + packetInterval
        }
        let t1 = timestamp()
        let a1 = bench_allocation_count()
        // Decapsulate (server).
        for index in 0..<batch {
            let packet = UnsafeMutableRawBufferPointer(rebasing: slots.slot(index)[ranges[index]])
            let (found, actions, acknowledgment) = link.serverReceive(packet, now: now)
            guard case .ipv4(let range) = found, range.count == size else {
                fatalError("server did not deliver packet \(sent + index): \(String(describing: found)) \(actions)")
            }
            if let acknowledgment, ackCount < 64 {
                let slot = UnsafeMutableRawBufferPointer(rebasing: ackStorage[(ackCount * 32)..<(ackCount * 32 + 32)])
                ackLengths[ackCount] = acknowledgment.write(to: slot)
                ackCount += 1
            }
            for action in actions {
                if case .sendGRE(let ack) = action, ackCount < 64, ack.readableBytes <= 32 {
                    ack.withUnsafeReadableBytes { bytes in
                        ackStorage.baseAddress!.advanced(by: ackCount * 32).copyMemory(
                            from: bytes.baseAddress!,
                            byteCount: bytes.count
                        )
                    }
                    ackLengths[ackCount] = ack.readableBytes
                    ackCount += 1
                }
            }
        }
        let t2 = timestamp()
        let a2 = bench_allocation_count()
        if verify {
            for index in 0..<batch {
                let packet = slots.slot(index)[ranges[index]]
                let delivered = Array(packet.suffix(size))
                precondition(delivered == template, "packet \(sent + index) of \(size) octets arrived altered")
            }
        }
        sample.encapsulateNanoseconds += t1 - t0
        sample.decapsulateNanoseconds += t2 - t1
        sample.encapsulateAllocations += a1 - a0
        sample.decapsulateAllocations += a2 - a1
        sample.headerOctets = ranges[batch - 1].count - size
        sent += batch
        // Timers that fell due (not timed): the shell runs them once per wake-up.
        link.now = now
        link.afterBatch()
    }
    sample.packets = sent
    // Hand back any acknowledgment still pending, so the next measurement starts with an open window.
    for index in 0..<ackCount {
        let packet = UnsafeMutableRawBufferPointer(
            rebasing: ackStorage[(index * 32)..<(index * 32 + ackLengths[index])]
        )
        _ = link.clientReceive(packet, now: now)
    }
    return sample
}

/// The same flow through the C reference: endpoint "a" encapsulates, endpoint "b" decapsulates.
func measureReference(
    _ sender: OpaquePointer,
    _ receiver: OpaquePointer,
    slots: Slots,
    size: Int,
    packets: Int,
    verify: Bool = false
) -> Sample {
    let template = ipPacket(size: size, seed: size)
    let headroom = Int(BENCH_REFERENCE_HEADROOM)
    var lengths = [Int](repeating: 0, count: batch)
    var sample = Sample()
    var sent = 0
    let droppedBefore = bench_reference_dropped(receiver)
    while sent < packets {
        for index in 0..<batch {
            let slot = slots.slot(index)
            template.withUnsafeBytes {
                slot.baseAddress!.advanced(by: headroom).copyMemory(from: $0.baseAddress!, byteCount: size)
            }
        }
        let a0 = bench_allocation_count()
        let t0 = timestamp()
        for index in 0..<batch {
            lengths[index] = bench_reference_encapsulate(
                sender,
                slots.slot(index).baseAddress!.assumingMemoryBound(to: UInt8.self),
                size
            )
        }
        let t1 = timestamp()
        let a1 = bench_allocation_count()
        var outLength = 0
        for index in 0..<batch {
            let base = slots.slot(index).baseAddress!.assumingMemoryBound(to: UInt8.self)
            let offset = bench_reference_decapsulate(receiver, base, lengths[index], &outLength)
            blackHole(offset)
            if verify {
                precondition(offset >= 0 && outLength == size, "C reference dropped packet \(sent + index)")
                let delivered = Array(UnsafeRawBufferPointer(start: base.advanced(by: offset), count: outLength))
                precondition(delivered == template, "C reference packet \(sent + index) arrived altered")
            }
        }
        let t2 = timestamp()
        let a2 = bench_allocation_count()
        sample.encapsulateNanoseconds += t1 - t0
        sample.decapsulateNanoseconds += t2 - t1
        sample.encapsulateAllocations += a1 - a0
        sample.decapsulateAllocations += a2 - a1
        sample.headerOctets = lengths[batch - 1] - size
        sent += batch
    }
    precondition(bench_reference_dropped(receiver) == droppedBefore, "the C reference dropped packets")
    sample.packets = sent
    return sample
}

import CPPTPNetwork
import Glibc
import PPP

/// Where a packet lies in its slot's buffer, and whom it comes from or goes to.
public struct PacketMetadata: Hashable, Sendable {
    /// First octet of the packet in the slot's buffer.
    public var offset: Int
    /// Octets of the packet.
    public var length: Int
    /// On receipt: the source address of the IP header. To send: the destination.
    public var peer: IPv4Address
    /// On receipt from a raw socket: the destination address of the IP header (ours). To send:
    /// the source address (IP_PKTINFO), so that a multi-homed host answers from the address the
    /// peer reached; unspecified lets the route choose.
    public var local: IPv4Address

    public init(offset: Int, length: Int, peer: IPv4Address = .unspecified, local: IPv4Address = .unspecified) {
        self.offset = offset
        self.length = length
        self.peer = peer
        self.local = local
    }
}

/// A fixed set of packet buffers and the per-slot metadata and kernel structures
/// (`struct mmsghdr`, `iovec`, `sockaddr_in`) that batched system calls need, allocated once and
/// reused for every call: receiving or sending a batch allocates nothing.
///
/// Each slot owns a buffer of `bufferSize` octets. Reads (TUN, raw socket) write at `headroom`
/// so that headers can later be written in front of the data in place (DESIGN.md, Data path).
/// `count` slots, from 0, are in use. Slot buffers can be exchanged between two batches of the
/// same buffer size (`swapBuffer`), so a packet can move from a receive batch to a send batch
/// without a copy.
///
/// A batch belongs to one thread at a time; it is not `Sendable`.
public final class PacketBatch {
    /// The number of slots.
    public let capacity: Int
    /// Octets per slot buffer.
    public let bufferSize: Int
    /// Where reads put the first octet in each buffer.
    public let headroom: Int
    /// Slots in use, from 0. Set by receive calls; set by the caller before sending.
    public var count: Int = 0 {
        didSet { precondition(count >= 0 && count <= capacity, "PacketBatch count out of range") }
    }

    @usableFromInline let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer>
    @usableFromInline let metadata: UnsafeMutablePointer<PacketMetadata>
    let messages: UnsafeMutablePointer<cpptp_mmsghdr>
    let vectors: UnsafeMutablePointer<iovec>
    let names: UnsafeMutablePointer<sockaddr_in>
    /// One IP_PKTINFO control message per slot, for sending from a chosen address.
    let controls: UnsafeMutableRawPointer
    let controlSize: Int

    /// Allocates `capacity` buffers of `bufferSize` octets (64-octet aligned) with reads landing
    /// at `headroom`.
    public init(capacity: Int = 32, bufferSize: Int = 2048, headroom: Int = 64) throws(NetworkError) {
        guard capacity > 0, capacity <= 1024, bufferSize >= 64, bufferSize <= 65_536 + 64, headroom >= 0,
            headroom < bufferSize - 20
        else { throw .batchGeometry(count: capacity, bufferSize: bufferSize, headroom: headroom) }
        self.capacity = capacity
        self.bufferSize = bufferSize
        self.headroom = headroom
        buffers = .allocate(capacity: capacity)
        metadata = .allocate(capacity: capacity)
        messages = .allocate(capacity: capacity)
        vectors = .allocate(capacity: capacity)
        names = .allocate(capacity: capacity)
        controlSize = cpptp_pktinfo_space()
        controls = .allocate(byteCount: capacity * controlSize, alignment: 8)
        for slot in 0..<capacity {
            // One allocation per slot: buffers move between batches (`swapBuffer`), and each
            // batch frees the buffers that its slots hold when it goes.
            (buffers + slot).initialize(to: UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 64))
            (metadata + slot).initialize(to: PacketMetadata(offset: headroom, length: 0))
            (vectors + slot).initialize(to: iovec())
            (names + slot).initialize(to: sockaddr_in())
            (messages + slot).initialize(to: cpptp_mmsghdr())
            // What never changes in a slot's message header: its address and vector, no control
            // data. Receiving and sending set only the per-packet fields.
            messages[slot].msg_hdr.msg_name = UnsafeMutableRawPointer(names + slot)
            messages[slot].msg_hdr.msg_iov = vectors + slot
            messages[slot].msg_hdr.msg_iovlen = 1
            messages[slot].msg_hdr.msg_control = nil
            messages[slot].msg_hdr.msg_controllen = 0
        }
    }

    deinit {
        messages.deallocate()
        vectors.deallocate()
        names.deallocate()
        controls.deallocate()
        metadata.deinitialize(count: capacity)
        metadata.deallocate()
        for slot in 0..<capacity { buffers[slot].deallocate() }
        buffers.deallocate()
    }

    /// The metadata of a slot (offset, length, peer).
    @inlinable
    public subscript(slot: Int) -> PacketMetadata {
        get {
            precondition(slot >= 0 && slot < capacity, "PacketBatch slot out of range")
            return metadata[slot]
        }
        set {
            precondition(slot >= 0 && slot < capacity, "PacketBatch slot out of range")
            precondition(
                newValue.offset >= 0 && newValue.length >= 0 && newValue.offset + newValue.length <= bufferSize,
                "PacketBatch packet outside its buffer"
            )
            metadata[slot] = newValue
        }
    }

    /// The whole buffer of a slot (`bufferSize` octets).
    @inlinable
    public func buffer(_ slot: Int) -> UnsafeMutableRawBufferPointer {
        precondition(slot >= 0 && slot < capacity, "PacketBatch slot out of range")
        return UnsafeMutableRawBufferPointer(start: buffers[slot], count: bufferSize)
    }

    /// The packet of a slot: its buffer from `offset`, `length` octets.
    @inlinable
    public func packet(_ slot: Int) -> UnsafeMutableRawBufferPointer {
        let meta = self[slot]
        return UnsafeMutableRawBufferPointer(start: buffers[slot] + meta.offset, count: meta.length)
    }

    /// Copies `bytes` into the next free slot at `offset` (the headroom by default) and makes it
    /// part of the batch. Returns false when the batch is full or the bytes do not fit.
    @discardableResult
    public func append(
        _ bytes: UnsafeRawBufferPointer,
        peer: IPv4Address,
        local: IPv4Address = .unspecified,
        offset: Int? = nil
    ) -> Bool {
        let start = offset ?? headroom
        guard count < capacity, start >= 0, bytes.count <= bufferSize - start else { return false }
        let slot = count
        if let base = bytes.baseAddress { (buffers[slot] + start).copyMemory(from: base, byteCount: bytes.count) }
        metadata[slot] = PacketMetadata(offset: start, length: bytes.count, peer: peer, local: local)
        count += 1
        return true
    }

    /// Empties the batch (the buffers stay allocated).
    public func removeAll() {
        count = 0
    }

    /// Exchanges the buffer and metadata of `slot` with those of `otherSlot` in `other`: a
    /// packet moves between batches without copying. Both batches need the same buffer size.
    public func swapBuffer(_ slot: Int, with other: PacketBatch, slot otherSlot: Int) {
        precondition(bufferSize == other.bufferSize, "swapBuffer needs batches of the same buffer size")
        precondition(slot >= 0 && slot < capacity && otherSlot >= 0 && otherSlot < other.capacity)
        swap(&buffers[slot], &other.buffers[otherSlot])
        swap(&metadata[slot], &other.metadata[otherSlot])
    }

    /// Exchanges two slots of this batch (buffers and metadata).
    func swapSlots(_ first: Int, _ second: Int) {
        guard first != second else { return }
        swap(&buffers[first], &buffers[second])
        swap(&metadata[first], &metadata[second])
    }
}

@available(*, unavailable)
extension PacketBatch: Sendable {}

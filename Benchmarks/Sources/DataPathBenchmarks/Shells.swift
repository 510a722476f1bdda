import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

// MARK: - Shells: how the data plane holds the sessions

/// What a server shell's receive gives back: the packet found in place, the actions, and the acknowledgment-only
/// packet due, if any (deferred, as the data plane's `SessionTable` takes it, to write it into its send batch).
typealias Received = (packet: TunnelPacket?, actions: [TunnelAction], acknowledgment: GREHeader?)

/// `TunnelSession.receiveGRE` as `SessionTable` calls it: the acknowledgment deferred and taken at once, with no
/// allocation.
func receiveDeferred(
    _ tunnel: inout TunnelSession,
    _ packet: UnsafeMutableRawBufferPointer,
    now: NIODeadline
) -> Received {
    let (found, actions) = tunnel.receiveGRE(packet, now: now, deferAcknowledgment: true)
    return (found, actions, tunnel.takeDueAcknowledgment().map { tunnel.acknowledgmentHeader($0) })
}

/// What the measurement loop needs of whoever holds the client and server sessions: `Link` holds them directly;
/// the table shells hold them the way the data plane's `SessionTable` does (or could).
protocol Shell {
    var now: NIODeadline { get set }
    /// An acknowledgment (or other GRE packet) for the client; returns the number of actions.
    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int
    mutating func clientSend(
        _ buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>,
        now: NIODeadline
    ) -> Result<Range<Int>, PPPDropReason>
    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received
    /// Between batches, untimed: timers.
    mutating func afterBatch()
}

extension Link: Shell {
    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int {
        client.receiveGRE(packet, now: now).actions.count
    }
    mutating func clientSend(
        _ buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>,
        now: NIODeadline
    ) -> Result<Range<Int>, PPPDropReason> {
        client.send(.ipv4, in: buffer, payload: payload, now: now)
    }
    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received {
        receiveDeferred(&server, packet, now: now)
    }
    mutating func afterBatch() {
        runTimers()
        precondition(down.isEmpty, "the link went down: \(down)")
    }
}

/// SessionTable's key and slot (PPTPNetwork is not a library product, so its storage pattern is reproduced here
/// as of commit 276c880: Sources/PPTPNetwork/DataPlane/SessionTable.swift).
struct TableKey: Hashable {
    var peer: UInt32
    var callID: UInt16
}
struct TableSlot {
    var tunnel: TunnelSession
    var clientAddress: IPv4Address?
    var deadline: NIODeadline?
    var user: String?
    mutating func run<T>(_ body: (inout TunnelSession) -> T) -> T { body(&tunnel) }
    mutating func withSlot<T>(_ body: (inout TableSlot) -> T) -> T { body(&self) }
    mutating func updateDeadline() -> (changed: Bool, deadline: NIODeadline?) {
        let next = tunnel.nextDeadline
        guard next != deadline else { return (false, next) }
        deadline = next
        return (true, next)
    }
}

/// How the shells store slots.
enum TableStorage: String, CaseIterable {
    /// `[SessionKey: Slot]`, accessed as SessionTable does per packet: `slots[key]?.run { … }`, then
    /// `slots[key]?.clientAddress` (server), then `reschedule(key)` = `slots[key]?.updateDeadline()`.
    case dictionary =
        "`[SessionKey: Slot]`, three `slots[key]?` accesses: `.run`, `.clientAddress`, `.updateDeadline()` (SessionTable before 55b3d2f)"
    /// The same dictionary, with one access per packet: the slot's fields are read and its deadline updated
    /// inside the one `slots[key]?.run { … }` that runs the tunnel.
    case dictionaryOneAccess = "`[SessionKey: Slot]`, one `slots[key]?` access doing all three"
    /// The same dictionary and the same three accesses, each through `slots.values[slots.index(forKey: key)]`,
    /// whose modify accessor yields the element where it lies (SessionTable.withSlot since this benchmark).
    case dictionaryValues =
        "`[SessionKey: Slot]`, the three accesses through `slots.values[slots.index(forKey:)]` (SessionTable.withSlot)"
    /// Slots in an array, a dictionary from key to index, one in-place access per packet (`storage[i].withSlot`).
    case array = "slots in an array, `[SessionKey: Int]` index, one in-place access doing all three"
    /// The same, without asking the session for its next deadline after every packet.
    case arrayNoDeadline = "the same without the per-packet `nextDeadline` (`updateDeadline`)"
}

/// Both sessions held in tables as the data plane holds them (the client's table in client mode, the server's in
/// server mode), with SessionTable's per-packet accesses.
struct TableShell: Shell {
    let storage: TableStorage
    var now: NIODeadline
    var clientSlots: [TableKey: TableSlot] = [:]
    var serverSlots: [TableKey: TableSlot] = [:]
    var clientArray: [TableSlot] = []
    var serverArray: [TableSlot] = []
    var clientIndex: [TableKey: Int] = [:]
    var serverIndex: [TableKey: Int] = [:]
    /// Deadline changes pushed on the timer heap (SessionTable pushes on a change).
    var timerPushes = 0
    let clientKey = TableKey(peer: 0xCB00_7101, callID: 0x1111)
    let serverKey = TableKey(peer: 0xCB00_7102, callID: 0x2222)
    static let clientAddress = IPv4Address(192, 0, 2, 10)

    init(_ storage: TableStorage, link: consuming Link) {
        self.storage = storage
        self.now = link.now
        let client = TableSlot(tunnel: link.client)
        let server = TableSlot(tunnel: link.server, clientAddress: Self.clientAddress)
        switch storage {
        case .dictionary, .dictionaryOneAccess, .dictionaryValues:
            clientSlots[clientKey] = client
            serverSlots[serverKey] = server
        case .array, .arrayNoDeadline:
            clientArray = [client]
            serverArray = [server]
            clientIndex[clientKey] = 0
            serverIndex[serverKey] = 0
        }
    }

    /// SessionTable.receiveGRE's demultiplexing: the Call ID from octets 6–7 of the GRE header.
    @inline(__always)
    static func key(peer: UInt32, _ packet: UnsafeMutableRawBufferPointer) -> TableKey {
        TableKey(peer: peer, callID: UInt16(packet[6]) << 8 | UInt16(packet[7]))
    }

    mutating func clientReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Int {
        let key = Self.key(peer: clientKey.peer, packet)
        switch storage {
        case .dictionary:
            guard let (_, actions) = clientSlots[key]?.run({ $0.receiveGRE(packet, now: now) }) else {
                fatalError("key")
            }
            if let update = clientSlots[key]?.updateDeadline(), update.changed { timerPushes &+= 1 }
            return actions.count
        case .dictionaryOneAccess:
            guard
                let (count, changed) = clientSlots[key]?.withSlot({ slot in
                    (slot.tunnel.receiveGRE(packet, now: now).actions.count, slot.updateDeadline().changed)
                })
            else { fatalError("key") }
            if changed { timerPushes &+= 1 }
            return count
        case .dictionaryValues:
            guard let (_, actions) = Self.withSlot(&clientSlots, key, { $0.tunnel.receiveGRE(packet, now: now) }) else {
                fatalError("key")
            }
            if let update = Self.withSlot(&clientSlots, key, { $0.updateDeadline() }), update.changed {
                timerPushes &+= 1
            }
            return actions.count
        case .array, .arrayNoDeadline:
            guard let index = clientIndex[key] else { fatalError("key") }
            let withDeadline = storage == .array
            let (count, changed) = clientArray[index].withSlot { slot in
                (slot.tunnel.receiveGRE(packet, now: now).actions.count, withDeadline && slot.updateDeadline().changed)
            }
            if changed { timerPushes &+= 1 }
            return count
        }
    }

    mutating func clientSend(
        _ buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>,
        now: NIODeadline
    ) -> Result<Range<Int>, PPPDropReason> {
        switch storage {
        case .dictionary:
            // SessionTable.receiveTUN in client mode: every packet goes to the only session.
            guard let key = clientSlots.keys.first,
                let result = clientSlots[key]?.run({ $0.send(.ipv4, in: buffer, payload: payload, now: now) })
            else { fatalError("key") }
            if let update = clientSlots[key]?.updateDeadline(), update.changed { timerPushes &+= 1 }
            return result
        case .dictionaryOneAccess:
            guard let key = clientSlots.keys.first,
                let (result, changed) = clientSlots[key]?.withSlot({ slot in
                    (slot.tunnel.send(.ipv4, in: buffer, payload: payload, now: now), slot.updateDeadline().changed)
                })
            else { fatalError("key") }
            if changed { timerPushes &+= 1 }
            return result
        case .dictionaryValues:
            guard let key = clientSlots.keys.first,
                let result = Self.withSlot(
                    &clientSlots,
                    key,
                    { $0.tunnel.send(.ipv4, in: buffer, payload: payload, now: now) }
                )
            else { fatalError("key") }
            if let update = Self.withSlot(&clientSlots, key, { $0.updateDeadline() }), update.changed {
                timerPushes &+= 1
            }
            return result
        case .array, .arrayNoDeadline:
            let withDeadline = storage == .array
            let (result, changed) = clientArray[0].withSlot { slot in
                (
                    slot.tunnel.send(.ipv4, in: buffer, payload: payload, now: now),
                    withDeadline && slot.updateDeadline().changed
                )
            }
            if changed { timerPushes &+= 1 }
            return result
        }
    }

    mutating func serverReceive(_ packet: UnsafeMutableRawBufferPointer, now: NIODeadline) -> Received {
        let key = Self.key(peer: serverKey.peer, packet)
        switch storage {
        case .dictionary:
            guard let result = serverSlots[key]?.run({ receiveDeferred(&$0, packet, now: now) }) else {
                fatalError("key")
            }
            let clientAddress = serverSlots[key]?.clientAddress  // SessionTable reads it for the anti-spoofing check
            blackHole(Int(clientAddress?.rawValue ?? 0))
            if let update = serverSlots[key]?.updateDeadline(), update.changed { timerPushes &+= 1 }
            return result
        case .dictionaryOneAccess:
            guard
                let (result, address, changed) = serverSlots[key]?.withSlot({ slot in
                    (receiveDeferred(&slot.tunnel, packet, now: now), slot.clientAddress, slot.updateDeadline().changed)
                })
            else { fatalError("key") }
            blackHole(Int(address?.rawValue ?? 0))
            if changed { timerPushes &+= 1 }
            return result
        case .dictionaryValues:
            guard let result = Self.withSlot(&serverSlots, key, { receiveDeferred(&$0.tunnel, packet, now: now) })
            else { fatalError("key") }
            let clientAddress = Self.withSlot(&serverSlots, key, { $0.clientAddress }) ?? nil
            blackHole(Int(clientAddress?.rawValue ?? 0))
            if let update = Self.withSlot(&serverSlots, key, { $0.updateDeadline() }), update.changed {
                timerPushes &+= 1
            }
            return result
        case .array, .arrayNoDeadline:
            guard let index = serverIndex[key] else { fatalError("key") }
            let withDeadline = storage == .array
            let (result, address, changed) = serverArray[index].withSlot { slot in
                (
                    receiveDeferred(&slot.tunnel, packet, now: now), slot.clientAddress,
                    withDeadline && slot.updateDeadline().changed
                )
            }
            blackHole(Int(address?.rawValue ?? 0))
            if changed { timerPushes &+= 1 }
            return result
        }
    }

    mutating func afterBatch() {}

    /// SessionTable.withSlot: the slot in place through `values[index]`.
    @inline(__always)
    static func withSlot<T>(_ slots: inout [TableKey: TableSlot], _ key: TableKey, _ body: (inout TableSlot) -> T) -> T?
    {
        guard let index = slots.index(forKey: key) else { return nil }
        return body(&slots.values[index])
    }
}

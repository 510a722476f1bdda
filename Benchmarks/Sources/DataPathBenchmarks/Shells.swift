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

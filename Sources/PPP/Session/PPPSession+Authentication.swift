import MSCrypto
import NIOCore

/// The Authenticate phase of a session (RFC 1661 §3.5): the authenticator and the authenticating
/// peer of the directions LCP agreed (RFC 1334 PAP, RFC 1994 CHAP, RFC 2433/2759 MS-CHAP).
extension PPPSession {

    mutating func receiveAuthentication(
        _ protocolNumber: PPPProtocolNumber,
        _ packet: ControlPacket,
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        // CHAP codes 2 (Response) and 7 (Change-Password) go to the authenticator; 1, 3, 4 to
        // the peer. PAP: 1 to the authenticator, 2 and 3 to the peer.
        let toAuthenticator =
            protocolNumber == .pap ? packet.code.rawValue == 1 : [2, 7].contains(packet.code.rawValue)
        if toAuthenticator, var machine = authenticator,
            machine.method == (protocolNumber == .pap ? .pap : machine.method)
        {
            let result = machine.receive(packet, now: now)
            authenticator = machine
            handleAuthentication(result, now: now, into: &actions)
        } else if !toAuthenticator, var machine = authenticatingPeer {
            let result = machine.receive(packet, now: now)
            authenticatingPeer = machine
            handleAuthentication(result, now: now, into: &actions)
        } else if phase == .network && authenticator == nil && authenticatingPeer == nil {
            protocolReject(protocolNumber, information: packet.bytes, now: now, into: &actions)
        }
    }

    mutating func handleAuthentication(
        _ results: [AuthenticationAction],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let protocolNumber, let packet):
                counters.framesSent += 1
                actions.append(.send(controlFrame(protocolNumber, packet)))
            case .verify(let request):
                actions.append(.verify(request))
            case .succeeded(let user, let method, let material):
                if configuration.role == .server {
                    authenticationPending.peer = false
                    keys = material
                } else {
                    authenticationPending.local = false
                    keys = keys ?? material
                }
                userName = user
                authenticationMethod = method
                actions.append(.event(.authenticated(userName: user, method: method)))
                if !authenticationPending.peer && !authenticationPending.local && phase == .authenticate {
                    enterNetworkPhase(now: now, into: &actions)
                }
            case .failed(let failure):
                fail(.authenticationFailed(failure), now: now, into: &actions)
            case .passwordChanged:
                actions.append(.event(.passwordChanged))
            }
        }
    }
}

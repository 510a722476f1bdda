import MSCrypto
import NIOCore

/// The Network phase of a session (RFC 1661 §3.6): CCP and MPPE first when encryption is allowed
/// (RFC 3078), then IPCP (RFC 1332/1877) and IPV6CP (RFC 5072), each its own automaton.
extension PPPSession {

    mutating func enterNetworkPhase(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        phase = .network
        // NCPs are Up now and Opened only once encryption is settled; a request that comes
        // before that waits for it (`holdEarlyRequest`).
        handleIPCP(ipcp.handle(.up, now: now), now: now, into: &actions)
        driveIPV6CP(.up, now: now, into: &actions)
        let encryption = configuration.policy.encryption
        if encryption.allowsEncryption && keys != nil {
            handleCCP(ccp.handle(.open, now: now), now: now, into: &actions)
            handleCCP(ccp.handle(.up, now: now), now: now, into: &actions)
            if !encryption.required { openIPNCPs(now: now, into: &actions) }
        } else if encryption.required {
            fail(.encryptionNeedsMSCHAP(authenticationMethod), now: now, into: &actions)
        } else {
            openIPNCPs(now: now, into: &actions)
        }
    }

    mutating func openIPNCPs(now: NIODeadline, into actions: inout [PPPSessionAction]) {
        guard !ncpsOpened, downReason == nil else { return }
        ncpsOpened = true
        handleIPCP(ipcp.handle(.open, now: now), now: now, into: &actions)
        if let early = earlyRequests.ipcp {
            earlyRequests.ipcp = nil
            handleIPCP(ipcp.handle(.received(early), now: now), now: now, into: &actions)
        }
        driveIPV6CP(.open, now: now, into: &actions)
        if let early = earlyRequests.ipv6cp {
            earlyRequests.ipv6cp = nil
            driveIPV6CP(.received(early), now: now, into: &actions)
        }
    }

    mutating func handleCCP(
        _ results: [NegotiationAutomaton<CCPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                emit(.ccp, packet, into: &actions)
            case .thisLayerUp:
                guard let sending = ccp.negotiator.sending, let receiving = ccp.negotiator.receiving,
                    let (encryptor, decryptor) = EncryptionLayer.ciphers(
                        sending: sending,
                        receiving: receiving,
                        keys: keys,
                        configuration: configuration
                    )
                else {
                    if configuration.policy.encryption.required {
                        fail(.negotiationFailed(.encryptionRefused), now: now, into: &actions)
                    } else {
                        openIPNCPs(now: now, into: &actions)
                    }
                    continue
                }
                dataPath.startEncryption(encryptor, decryptor)
                encryptionCameUp = true
                actions.append(.event(.encryptionUp(send: sending, receive: receiving)))
                openIPNCPs(now: now, into: &actions)
            case .thisLayerDown:
                // RFC 3078 §1: with MPPE required, losing it ends the data flow.
                if configuration.policy.encryption.required {
                    dataPath.ipv4Open = false
                    dataPath.ipv6Open = false
                }
                dataPath.stopEncryption()
            case .thisLayerStarted:
                break
            case .thisLayerFinished(let failure):
                guard phase == .network, downReason == nil else { continue }
                if configuration.policy.encryption.required {
                    fail(.negotiationFailed(failure ?? .encryptionRefused), now: now, into: &actions)
                } else {
                    openIPNCPs(now: now, into: &actions)
                }
            case .deliver(let message, let identifier):
                switch message {
                case .resetRequest:
                    // RFC 1962 §2.1 / RFC 3078 §8.2: flush the sender, acknowledge.
                    dataPath.resetEncryptor()
                    counters.framesSent += 1
                    actions.append(.send(controlFrame(.ccp, CCPMessage.resetAck([]).packet(identifier: identifier))))
                case .resetAck:
                    break  // the decryptor resynchronises on the next FLUSHED packet
                default:
                    break
                }
            }
        }
    }

    mutating func handleIPCP(
        _ results: [NegotiationAutomaton<IPCPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                emit(.ipcp, packet, into: &actions)
            case .thisLayerUp:
                let agreed = ipcp.negotiator.agreed
                let local = agreed.localAddress ?? .unspecified
                var peer = agreed.peerAddress ?? .unspecified
                var dns = agreed.dnsServers
                if case .assigning(_, let assigned, let servers, _) = ipcp.negotiator.role {
                    peer = assigned
                    dns = servers
                }
                let settings = IPv4NetworkSettings(
                    localAddress: local,
                    peerAddress: peer,
                    dnsServers: dns,
                    largestDatagram: dataPath.largestDatagram
                )
                network = settings
                dataPath.ipv4Open = true
                handshakeDeadline = nil
                actions.append(.event(.networkUp(settings)))
            case .thisLayerDown:
                dataPath.ipv4Open = false
            case .thisLayerStarted:
                break
            case .thisLayerFinished(let failure):
                dataPath.ipv4Open = false
                // pppd: with no network protocol left, the link has no purpose.
                if phase == .network && downReason == nil && !(ipv6cp?.isOpened ?? false) && ncpsOpened {
                    fail(.negotiationFailed(failure ?? .addressRefused), now: now, into: &actions)
                }
            case .deliver:
                break
            }
        }
    }

    mutating func handleIPV6CP(
        _ results: [NegotiationAutomaton<IPV6CPNegotiator>.Action],
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        for result in results {
            switch result {
            case .send(let packet):
                emit(.ipv6cp, packet, into: &actions)
            case .thisLayerUp:
                if let automaton = ipv6cp, let local = automaton.negotiator.localIdentifier,
                    let peer = automaton.negotiator.peerIdentifier
                {
                    dataPath.ipv6Open = true
                    actions.append(.event(.ipv6Up(local: local, peer: peer)))
                }
            case .thisLayerDown, .thisLayerFinished:
                dataPath.ipv6Open = false
            case .thisLayerStarted, .deliver:
                break
            }
        }
    }

    /// Runs `event` on IPV6CP, when it is negotiated at all.
    mutating func driveIPV6CP(
        _ event: NegotiationAutomaton<IPV6CPNegotiator>.Event,
        now: NIODeadline,
        into actions: inout [PPPSessionAction]
    ) {
        guard var automaton = ipv6cp else { return }
        let result = automaton.handle(event, now: now)
        ipv6cp = automaton
        handleIPV6CP(result, now: now, into: &actions)
    }
}

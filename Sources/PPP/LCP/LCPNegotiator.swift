/// The LCP option policy (RFC 1661 §6, RFC 1570, with the pppd and Windows behaviours noted in
/// `../shared/notes/windows-peers.md`).
///
/// Options in *our* Configure-Request describe what we can receive (our MRU, that we accept
/// compressed headers, that the peer must authenticate); options in the *peer's* request that we
/// acknowledge describe what we may send.
public struct LCPNegotiator: OptionNegotiator {
    public typealias Option = LCPOption

    /// What we ask for and what we accept.
    public struct Configuration: Hashable, Sendable {
        /// Our MRU; requested only when it differs from the default 1500 (RFC 1661 §6.1).
        public var mru: UInt16 = 1500
        /// The smallest MRU we accept from the peer; smaller values are Nak'd up to it, as pppd does.
        public var minimumPeerMRU: UInt16 = 128
        /// Request an ACCM (async links only; over GRE it is meaningless and Windows sends none).
        public var requestACCM: UInt32?
        /// Request Protocol-Field- and Address-and-Control-Field-Compression.
        public var requestPFC = true
        public var requestACFC = true
        /// Methods the peer may use to authenticate to us, in our order of preference; empty means
        /// we do not require the peer to authenticate.
        public var authenticatePeerWith: [AuthenticationMethod] = []
        /// Methods we accept to authenticate ourselves with, in our order of preference; the
        /// first is what we Nak with when the peer asks for one we refuse.
        public var authenticateSelfWith: [AuthenticationMethod] = [.msCHAPv2]
        /// Naks of our Magic-Number (or requests carrying it) before we declare a loop-back.
        public var loopbackThreshold = 5

        public init() {}
    }

    public var configuration: Configuration

    // What we currently ask for.
    private var requestMRU: UInt16?
    private var requestACCM: UInt32?
    private var requestPFC: Bool
    private var requestACFC: Bool
    private var requestMagic: UInt32
    /// Index into `authenticatePeerWith` of the method we currently request.
    private var requestAuthentication: AuthenticationMethod?
    private var triedAuthentication: Set<AuthenticationMethod> = []
    private var loopbackCount = 0
    private var random: any RandomNumberGenerator & Sendable

    /// What was agreed, valid once LCP is Opened.
    public private(set) var agreed = LCPAgreement()
    /// A loop-back was detected (the automaton is told through `NegotiationStep.fail`).
    public private(set) var loopbackDetected = false
    /// What the peer proposed instead of the authentication protocol we require (its Nak).
    public private(set) var refusedByPeer: AuthenticationProtocol?
    /// The authentication protocol the peer asked us to use that our policy refused (we Nak'd
    /// it): if the peer then gives up, this is why.
    public private(set) var refusedPeerAuthentication: AuthenticationProtocol?

    public init(configuration: Configuration, random: any RandomNumberGenerator & Sendable) {
        self.configuration = configuration
        self.random = random
        self.requestPFC = configuration.requestPFC
        self.requestACFC = configuration.requestACFC
        self.requestMagic = 0
        resetNegotiation()
    }

    public mutating func resetNegotiation() {
        requestMRU = configuration.mru == 1500 ? nil : configuration.mru
        requestACCM = configuration.requestACCM
        requestPFC = configuration.requestPFC
        requestACFC = configuration.requestACFC
        requestMagic = newMagic()
        requestAuthentication = configuration.authenticatePeerWith.first
        triedAuthentication = requestAuthentication.map { [$0] } ?? []
        loopbackCount = 0
        refusedPeerAuthentication = nil
        agreed = LCPAgreement()
        agreed.localMagic = requestMagic
    }

    private mutating func newMagic() -> UInt32 {
        // RFC 1661 §6.4: zero means "no magic number"; never choose it.
        var magic: UInt32 = 0
        while magic == 0 { magic = random.next() }
        return magic
    }

    public func requestOptions() -> [LCPOption] {
        var options: [LCPOption] = []
        if let requestMRU { options.append(.maximumReceiveUnit(requestMRU)) }
        if let requestACCM { options.append(.asyncControlCharacterMap(requestACCM)) }
        if let requestAuthentication {
            options.append(.authenticationProtocol(requestAuthentication.authenticationProtocol))
        }
        options.append(.magicNumber(requestMagic))
        if requestPFC { options.append(.protocolFieldCompression) }
        if requestACFC { options.append(.addressAndControlFieldCompression) }
        return options
    }

    public mutating func evaluateRequest(_ options: [LCPOption]) -> RequestEvaluation<LCPOption> {
        var naks: [LCPOption] = []
        var rejects: [LCPOption] = []
        var result = LCPAgreement()
        result.localMagic = agreed.localMagic
        result.localMRU = agreed.localMRU
        result.peerMustAuthenticate = agreed.peerMustAuthenticate
        result.peerAcceptsPFC = agreed.peerAcceptsPFC
        result.peerAcceptsACFC = agreed.peerAcceptsACFC
        for option in options {
            switch option {
            case .maximumReceiveUnit(let mru):
                if mru < configuration.minimumPeerMRU {
                    naks.append(.maximumReceiveUnit(configuration.minimumPeerMRU))
                } else {
                    result.peerMRU = mru
                }
            case .asyncControlCharacterMap(let map):
                result.peerACCM = map
            case .authenticationProtocol(let auth):
                if let method = auth.method, configuration.authenticateSelfWith.contains(method) {
                    result.selfMustAuthenticate = method
                } else if let preferred = configuration.authenticateSelfWith.first {
                    refusedPeerAuthentication = auth
                    // RFC 1661 §6.2: Nak with the protocol we prefer.
                    naks.append(.authenticationProtocol(preferred.authenticationProtocol))
                } else {
                    rejects.append(option)
                }
            case .magicNumber(let magic):
                // RFC 1661 §6.4: our own number back means a probable loop-back: Nak with a new
                // number; persisting means the link really is looped.
                if magic == requestMagic && magic != 0 {
                    loopbackCount += 1
                    if loopbackCount >= configuration.loopbackThreshold { loopbackDetected = true }
                    naks.append(.magicNumber(newMagic()))
                } else {
                    result.peerMagic = magic
                }
            case .protocolFieldCompression:
                result.sendPFC = true
            case .addressAndControlFieldCompression:
                result.sendACFC = true
            case .endpointDiscriminator:
                // Harmless to acknowledge (Windows keeps sending it); we do no multilink.
                break
            case .qualityProtocol, .callback, .multilinkMRRU, .other:
                // Windows offers callback/CBCP, MRRU 1614 and BACP's option 23: Reject, and it
                // converges in one round.
                rejects.append(option)
            }
        }
        // RFC 1661 §5.4: reject takes precedence over Nak.
        if !rejects.isEmpty { return .reject(rejects) }
        if !naks.isEmpty { return .nak(naks) }
        agreed.peerMRU = result.peerMRU
        agreed.peerACCM = result.peerACCM
        agreed.peerMagic = result.peerMagic
        agreed.sendPFC = result.sendPFC
        agreed.sendACFC = result.sendACFC
        agreed.selfMustAuthenticate = result.selfMustAuthenticate
        return .ack
    }

    public mutating func requestAcknowledged(_ options: [LCPOption]) {
        agreed.localMagic = requestMagic
        agreed.localMRU = requestMRU ?? 1500
        agreed.peerMustAuthenticate = requestAuthentication
        agreed.peerAcceptsPFC = requestPFC
        agreed.peerAcceptsACFC = requestACFC
    }

    public mutating func requestNaked(_ options: [LCPOption]) -> NegotiationStep {
        for option in options {
            switch option {
            case .maximumReceiveUnit(let mru):
                // Take the peer's value (a Windows server Naks 1416 up to 1500).
                if mru >= 128 { requestMRU = mru == 1500 ? nil : mru }
            case .asyncControlCharacterMap(let map):
                requestACCM = (requestACCM ?? 0) | map
            case .authenticationProtocol(let auth):
                guard requestAuthentication != nil else { continue }
                if let method = auth.method, configuration.authenticatePeerWith.contains(method) {
                    requestAuthentication = method
                    triedAuthentication.insert(method)
                } else if let next = configuration.authenticatePeerWith.first(where: {
                    !triedAuthentication.contains($0)
                }) {
                    requestAuthentication = next
                    triedAuthentication.insert(next)
                } else {
                    // Nothing else we allow: ask again for what we want (RFC 1661 §5.3 lets us
                    // keep a value the peer Naks); a peer that insists ends up Rejecting the
                    // option (its Max-Failure), and then we give up.
                    refusedByPeer = auth
                }
            case .magicNumber:
                loopbackCount += 1
                if loopbackCount >= configuration.loopbackThreshold {
                    loopbackDetected = true
                    return .fail(.loopbackDetected)
                }
                requestMagic = newMagic()
            case .protocolFieldCompression, .addressAndControlFieldCompression, .qualityProtocol, .callback,
                .multilinkMRRU, .endpointDiscriminator, .other:
                // A Nak may suggest options we did not ask for; we do not take them up.
                break
            }
        }
        if loopbackDetected { return .fail(.loopbackDetected) }
        return .proceed
    }

    public mutating func requestRejected(_ options: [LCPOption]) -> NegotiationStep {
        for option in options {
            switch option {
            case .maximumReceiveUnit: requestMRU = nil
            case .asyncControlCharacterMap: requestACCM = nil
            case .authenticationProtocol:
                // We require authentication; a peer that will not authenticate cannot get in.
                if requestAuthentication != nil { return .fail(.authenticationRefused) }
            case .magicNumber: requestMagic = 0
            case .protocolFieldCompression: requestPFC = false
            case .addressAndControlFieldCompression: requestACFC = false
            case .qualityProtocol, .callback, .multilinkMRRU, .endpointDiscriminator, .other:
                return .invalid  // RFC 1661 §5.4: we never sent these
            }
        }
        return .proceed
    }
}

/// What LCP agreed, from this end's point of view.
public struct LCPAgreement: Hashable, Sendable {
    /// The MRU the peer acknowledged for us (what we can receive).
    public var localMRU: UInt16 = 1500
    /// The peer's MRU (the largest frame we may send); 1500 when it did not say.
    public var peerMRU: UInt16 = 1500
    public var peerACCM: UInt32 = 0xFFFF_FFFF
    public var localMagic: UInt32 = 0
    public var peerMagic: UInt32 = 0
    /// We may send compressed protocol fields / omit address and control.
    public var sendPFC = false
    public var sendACFC = false
    /// The peer agreed that we may send them compressed: we must accept compressed frames.
    public var peerAcceptsPFC = false
    public var peerAcceptsACFC = false
    /// How the peer must authenticate to us, if we required it.
    public var peerMustAuthenticate: AuthenticationMethod?
    /// How we must authenticate to the peer, if it required it.
    public var selfMustAuthenticate: AuthenticationMethod?

    public init() {}
}

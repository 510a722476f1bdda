/// The IPCP option policy (RFC 1332, RFC 1877), for both roles.
///
/// - Server (`.assigning`): asks for its own address, Naks the client's 0.0.0.0 (or any other
///   address) with the one assigned to it, and answers DNS/NBNS requests with the configured
///   servers (Rejecting those it has none for, as a Windows server does).
/// - Client (`.requesting`): asks for 0.0.0.0 (or a preferred address) and the DNS servers, and
///   takes the values of the server's Nak.
/// VJ header compression is rejected in both roles (RFC 1332 §3.2; Windows rejects it too).
public struct IPCPNegotiator: OptionNegotiator {
    public typealias Option = IPCPOption

    public enum Role: Hashable, Sendable {
        /// The server: `local` is our tunnel address, `peer` the address assigned to the client.
        case assigning(local: IPv4Address, peer: IPv4Address, dns: [IPv4Address], nbns: [IPv4Address])
        /// The client: `preferred` is the address we ask for (0.0.0.0: "assign me one").
        case requesting(preferred: IPv4Address, requestDNS: Bool)
    }

    public var role: Role

    private var requestAddress: IPv4Address?
    private var requestDNS1: IPv4Address?
    private var requestDNS2: IPv4Address?

    /// What was agreed, valid once IPCP is Opened.
    public private(set) var agreed = IPCPAgreement()

    public init(role: Role) {
        self.role = role
        resetNegotiation()
    }

    public mutating func resetNegotiation() {
        agreed = IPCPAgreement()
        switch role {
        case .assigning(let local, _, _, _):
            requestAddress = local
            requestDNS1 = nil
            requestDNS2 = nil
        case .requesting(let preferred, let requestDNS):
            requestAddress = preferred
            requestDNS1 = requestDNS ? .unspecified : nil
            requestDNS2 = requestDNS ? .unspecified : nil
        }
    }

    public func requestOptions() -> [IPCPOption] {
        var options: [IPCPOption] = []
        if let requestAddress { options.append(.ipAddress(requestAddress)) }
        if let requestDNS1 { options.append(.primaryDNS(requestDNS1)) }
        if let requestDNS2 { options.append(.secondaryDNS(requestDNS2)) }
        return options
    }

    public mutating func evaluateRequest(_ options: [IPCPOption]) -> RequestEvaluation<IPCPOption> {
        var naks: [IPCPOption] = []
        var rejects: [IPCPOption] = []
        var peerAddress: IPv4Address?
        for option in options {
            switch (role, option) {
            case (.assigning(_, let assigned, _, _), .ipAddress(let address)):
                // RFC 1332 §3.3: Nak with the address the peer should use.
                if address == assigned { peerAddress = address } else { naks.append(.ipAddress(assigned)) }
            case (.assigning(_, _, let dns, _), .primaryDNS(let address)):
                answerServer(
                    dns.first,
                    asked: address,
                    option: option,
                    make: IPCPOption.primaryDNS,
                    naks: &naks,
                    rejects: &rejects
                )
            case (.assigning(_, _, let dns, _), .secondaryDNS(let address)):
                answerServer(
                    dns.dropFirst().first,
                    asked: address,
                    option: option,
                    make: IPCPOption.secondaryDNS,
                    naks: &naks,
                    rejects: &rejects
                )
            case (.assigning(_, _, _, let nbns), .primaryNBNS(let address)):
                answerServer(
                    nbns.first,
                    asked: address,
                    option: option,
                    make: IPCPOption.primaryNBNS,
                    naks: &naks,
                    rejects: &rejects
                )
            case (.assigning(_, _, _, let nbns), .secondaryNBNS(let address)):
                answerServer(
                    nbns.dropFirst().first,
                    asked: address,
                    option: option,
                    make: IPCPOption.secondaryNBNS,
                    naks: &naks,
                    rejects: &rejects
                )
            case (.requesting, .ipAddress(let address)):
                // The server tells us its address. 0.0.0.0 would ask us to assign one: we have
                // none to give, so Reject (pppd does the same without a remote address).
                if address == .unspecified { rejects.append(option) } else { peerAddress = address }
            case (_, .ipCompressionProtocol), (_, .ipAddresses), (_, .other),
                (.requesting, .primaryDNS), (.requesting, .secondaryDNS), (.requesting, .primaryNBNS),
                (.requesting, .secondaryNBNS):
                rejects.append(option)
            }
        }
        if !rejects.isEmpty { return .reject(rejects) }
        if !naks.isEmpty { return .nak(naks) }
        agreed.peerAddress = peerAddress
        return .ack
    }

    /// RFC 1877: Nak a name-server request with our value, or Reject it when we have none.
    private func answerServer(
        _ configured: IPv4Address?,
        asked: IPv4Address,
        option: IPCPOption,
        make: (IPv4Address) -> IPCPOption,
        naks: inout [IPCPOption],
        rejects: inout [IPCPOption]
    ) {
        guard let configured else {
            rejects.append(option)
            return
        }
        if asked != configured { naks.append(make(configured)) }
    }

    public mutating func requestAcknowledged(_ options: [IPCPOption]) {
        agreed.localAddress = requestAddress
        agreed.primaryDNS = requestDNS1
        agreed.secondaryDNS = requestDNS2
    }

    public mutating func requestNaked(_ options: [IPCPOption]) -> NegotiationStep {
        for option in options {
            switch (role, option) {
            case (.requesting, .ipAddress(let address)):
                guard address != .unspecified else { return .fail(.addressRefused) }
                requestAddress = address
            case (.requesting, .primaryDNS(let address)):
                if requestDNS1 != nil { requestDNS1 = address }
            case (.requesting, .secondaryDNS(let address)):
                if requestDNS2 != nil { requestDNS2 = address }
            case (.assigning, .ipAddress):
                // Our own address is fixed by configuration: keep asking for it (pppd without
                // ipcp-accept-local does the same).
                break
            case (_, .ipCompressionProtocol), (_, .ipAddresses), (_, .other), (_, .primaryNBNS), (_, .secondaryNBNS),
                (.assigning, .primaryDNS), (.assigning, .secondaryDNS):
                break
            }
        }
        return .proceed
    }

    public mutating func requestRejected(_ options: [IPCPOption]) -> NegotiationStep {
        for option in options {
            switch option {
            case .ipAddress:
                if case .requesting = role { return .fail(.addressRefused) }
                requestAddress = nil
            case .primaryDNS: requestDNS1 = nil
            case .secondaryDNS: requestDNS2 = nil
            case .ipAddresses, .ipCompressionProtocol, .primaryNBNS, .secondaryNBNS, .other:
                return .invalid
            }
        }
        return .proceed
    }
}

/// What IPCP agreed.
public struct IPCPAgreement: Hashable, Sendable {
    /// Our address (acknowledged by the peer).
    public var localAddress: IPv4Address?
    /// The peer's address (from its request that we acknowledged).
    public var peerAddress: IPv4Address?
    public var primaryDNS: IPv4Address?
    public var secondaryDNS: IPv4Address?

    public init() {}

    /// The DNS servers the peer gave us, zero addresses left out.
    public var dnsServers: [IPv4Address] { [primaryDNS, secondaryDNS].compactMap { $0 }.filter { $0 != .unspecified } }
}

/// The IPV6CP option policy (RFC 5072 §4.1): each side proposes a random, non-zero 64-bit
/// interface identifier; a request carrying the same identifier as ours is Nak'd with a fresh
/// one (collision), as is an all-zero identifier.
public struct IPV6CPNegotiator: OptionNegotiator {
    public typealias Option = IPV6CPOption

    private var random: any RandomNumberGenerator & Sendable
    private var requestIdentifier: UInt64 = 0
    public private(set) var localIdentifier: UInt64?
    public private(set) var peerIdentifier: UInt64?

    public init(random: any RandomNumberGenerator & Sendable) {
        self.random = random
        resetNegotiation()
    }

    private mutating func newIdentifier() -> UInt64 {
        var id: UInt64 = 0
        while id == 0 { id = random.next() }
        return id
    }

    public mutating func resetNegotiation() {
        requestIdentifier = newIdentifier()
        localIdentifier = nil
        peerIdentifier = nil
    }

    public func requestOptions() -> [IPV6CPOption] { [.interfaceIdentifier(requestIdentifier)] }

    public mutating func evaluateRequest(_ options: [IPV6CPOption]) -> RequestEvaluation<IPV6CPOption> {
        var rejects: [IPV6CPOption] = []
        var naks: [IPV6CPOption] = []
        var peer: UInt64?
        for option in options {
            switch option {
            case .interfaceIdentifier(let id):
                // RFC 5072 §4.1: zero, or equal to ours, is Nak'd with a suggestion.
                if id == 0 || id == requestIdentifier {
                    var suggestion = newIdentifier()
                    while suggestion == requestIdentifier { suggestion = newIdentifier() }
                    naks.append(.interfaceIdentifier(suggestion))
                } else {
                    peer = id
                }
            case .compressionProtocol, .other:
                rejects.append(option)
            }
        }
        if !rejects.isEmpty { return .reject(rejects) }
        if !naks.isEmpty { return .nak(naks) }
        peerIdentifier = peer
        return .ack
    }

    public mutating func requestAcknowledged(_ options: [IPV6CPOption]) {
        localIdentifier = requestIdentifier
    }

    public mutating func requestNaked(_ options: [IPV6CPOption]) -> NegotiationStep {
        for case .interfaceIdentifier(let id) in options {
            // RFC 5072 §4.1: use the suggestion unless it is zero or the peer's own.
            requestIdentifier = (id == 0 || id == peerIdentifier) ? newIdentifier() : id
        }
        return .proceed
    }

    public mutating func requestRejected(_ options: [IPV6CPOption]) -> NegotiationStep {
        // Without an interface identifier there is no IPv6 link-local address to agree on.
        .fail(.addressRefused)
    }
}

import MSCrypto

/// Which MPPE modes a session allows (RFC 3078). Secure by default: 128-bit stateless required.
public struct EncryptionPolicy: Hashable, Sendable, CustomStringConvertible {
    /// Whether the session ends when MPPE cannot be agreed.
    public var required: Bool
    /// Allowed key strengths, strongest preferred.
    public var strengths: Set<MPPEKeyStrength>
    /// Whether stateful mode (RFC 3078 §7.2, no H bit) may be accepted.
    public var allowStateful: Bool
    /// Whether we ask for stateful mode ourselves (pppd never does; Windows never does).
    public var preferStateful: Bool

    public init(
        required: Bool = true,
        strengths: Set<MPPEKeyStrength> = [.bits128],
        allowStateful: Bool = false,
        preferStateful: Bool = false
    ) {
        self.required = required
        self.strengths = strengths
        self.allowStateful = allowStateful || preferStateful
        self.preferStateful = preferStateful
    }

    /// MPPE-128 stateless, required.
    public static let `default` = EncryptionPolicy()
    /// No encryption at all: CCP is not negotiated.
    public static let none = EncryptionPolicy(required: false, strengths: [])

    /// Whether any MPPE mode is allowed.
    public var allowsEncryption: Bool { !strengths.isEmpty }

    var strengthBits: MPPEOptions {
        var bits: MPPEOptions = []
        for strength in strengths { bits.insert(strength.optionBit) }
        return bits
    }

    /// The strongest allowed strength among `bits`.
    func strongest(in bits: MPPEOptions) -> MPPEKeyStrength? {
        for strength in [MPPEKeyStrength.bits128, .bits56, .bits40]
        where strengths.contains(strength) && bits.contains(strength.optionBit) {
            return strength
        }
        return nil
    }

    public var description: String {
        guard allowsEncryption else { return "no encryption" }
        let names = [MPPEKeyStrength.bits128, .bits56, .bits40].filter(strengths.contains).map(\.description)
        var text = "MPPE " + names.joined(separator: "/")
        text += preferStateful ? " stateful" : allowStateful ? " stateless or stateful" : " stateless"
        return text + (required ? ", required" : ", optional")
    }
}

extension MPPEKeyStrength {
    /// The CCP option 18 bit for this strength (RFC 3078 §2.1: L 40, M 56, S 128).
    public var optionBit: MPPEOptions {
        switch self {
        case .bits40: return .bits40
        case .bits56: return .bits56
        case .bits128: return .bits128
        }
    }
}

/// One direction of MPPE as negotiated.
public struct MPPEDirection: Hashable, Sendable, CustomStringConvertible {
    public var strength: MPPEKeyStrength
    public var mode: MPPEMode

    public init(strength: MPPEKeyStrength, mode: MPPEMode) {
        self.strength = strength
        self.mode = mode
    }

    /// The option bits that name exactly this choice.
    public var bits: MPPEOptions { mode == .stateless ? [strength.optionBit, .stateless] : strength.optionBit }

    public var description: String { "MPPE \(strength) \(mode)" }
}

/// The CCP option policy for MPPE (RFC 3078 §2, RFC 1962). Every compression method is
/// Rejected; MPPE is negotiated to exactly one strength bit and the H bit, as Windows expects:
/// a request offering several strengths is Nak'd down to one (notes/windows-peers.md §4).
public struct CCPNegotiator: OptionNegotiator {
    public typealias Option = CCPOption

    public var policy: EncryptionPolicy
    private var request: MPPEOptions?

    /// What the peer acknowledged: the MPPE we receive.
    public private(set) var receiving: MPPEDirection?
    /// What we acknowledged: the MPPE we send.
    public private(set) var sending: MPPEDirection?
    /// The peer Nak'd our stateful request towards stateless: stop asking it for stateful.
    private var peerRefusedStateful = false

    public init(policy: EncryptionPolicy) {
        self.policy = policy
        resetNegotiation()
    }

    public mutating func resetNegotiation() {
        receiving = nil
        sending = nil
        peerRefusedStateful = false
        guard policy.allowsEncryption else {
            request = nil
            return
        }
        // As pppd: offer every allowed strength, and H unless we prefer stateful.
        request = policy.preferStateful ? policy.strengthBits : policy.strengthBits.union(.stateless)
    }

    public func requestOptions() -> [CCPOption] {
        request.map { [.mppe($0)] } ?? []
    }

    /// The single choice we make from a peer's offer, or nil when nothing is acceptable.
    func choose(from offered: MPPEOptions) -> MPPEDirection? {
        guard let strength = policy.strongest(in: offered) else { return nil }
        let wantsStateless = offered.contains(.stateless)
        let mode: MPPEMode
        if policy.preferStateful && !peerRefusedStateful {
            // We asked for stateful mode; ask the peer to send stateful too (RFC 3078 §2.1: a
            // Nak without H), so both directions use the same mode.
            mode = .stateful
        } else if wantsStateless {
            mode = .stateless
        } else if policy.allowStateful {
            mode = .stateful
        } else {
            mode = .stateless  // Nak the peer towards stateless
        }
        return MPPEDirection(strength: strength, mode: mode)
    }

    /// What we Nak with when the peer offers nothing we accept: our own best choice.
    private var preferred: MPPEDirection? {
        guard let strength = policy.strongest(in: policy.strengthBits) else { return nil }
        return MPPEDirection(strength: strength, mode: policy.preferStateful ? .stateful : .stateless)
    }

    public mutating func evaluateRequest(_ options: [CCPOption]) -> RequestEvaluation<CCPOption> {
        var rejects: [CCPOption] = []
        var naks: [CCPOption] = []
        var chosen: MPPEDirection?
        var sawMPPE = false
        for option in options {
            switch option {
            case .mppe(let offered):
                sawMPPE = true
                guard policy.allowsEncryption else {
                    rejects.append(option)
                    continue
                }
                let choice = choose(from: offered) ?? preferred
                guard let choice else {
                    rejects.append(option)
                    continue
                }
                // RFC 3078 §2.1: the answer names a single strength; anything else is Nak'd.
                if offered == choice.bits {
                    chosen = choice
                } else {
                    naks.append(.mppe(choice.bits))
                }
            case .other:
                rejects.append(option)
            }
        }
        if !rejects.isEmpty { return .reject(rejects) }
        if !sawMPPE && policy.required, let preferred {
            // RFC 1661 §5.3 lets a Nak suggest an option the request did not carry.
            naks.append(.mppe(preferred.bits))
        }
        if !naks.isEmpty { return .nak(naks) }
        sending = chosen
        return .ack
    }

    public mutating func requestAcknowledged(_ options: [CCPOption]) {
        for case .mppe(let bits) in options {
            if let strength = policy.strongest(in: bits) {
                receiving = MPPEDirection(strength: strength, mode: bits.contains(.stateless) ? .stateless : .stateful)
            }
        }
    }

    public mutating func requestNaked(_ options: [CCPOption]) -> NegotiationStep {
        for case .mppe(let offered) in options {
            if offered.contains(.stateless) && policy.preferStateful {
                // The peer will not send stateful: take stateless (we allow it) and stop asking.
                peerRefusedStateful = true
            }
            guard let choice = choose(from: offered) else { return .fail(.noCommonEncryption(offered: offered)) }
            if !offered.contains(.stateless) && !policy.allowStateful {
                // The peer asks for stateful mode, which our policy forbids: keep asking for
                // stateless; it gives in or the negotiation ends by Max-Failure.
                continue
            }
            request = choice.bits
        }
        return .proceed
    }

    public mutating func requestRejected(_ options: [CCPOption]) -> NegotiationStep {
        for option in options {
            switch option {
            case .mppe:
                if policy.required { return .fail(.encryptionRefused) }
                request = nil
            case .other:
                return .invalid
            }
        }
        return .proceed
    }
}

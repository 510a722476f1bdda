/// The Authentication-Protocol option value (RFC 1661 §6.2, RFC 1994 §3, RFC 2433 §2,
/// RFC 2759 §2): the protocol and, for CHAP, the algorithm octet.
public struct AuthenticationProtocol: Hashable, Sendable, CustomStringConvertible {
    public var protocolNumber: PPPProtocolNumber
    public var data: [UInt8]

    public init(protocolNumber: PPPProtocolNumber, data: [UInt8] = []) {
        self.protocolNumber = protocolNumber
        self.data = data
    }

    public static let pap = Self(protocolNumber: .pap)
    /// CHAP with MD5 (algorithm 5, RFC 1994 §3).
    public static let chapMD5 = Self(protocolNumber: .chap, data: [5])
    /// MS-CHAP (algorithm 0x80, RFC 2433 §2).
    public static let msCHAPv1 = Self(protocolNumber: .chap, data: [0x80])
    /// MS-CHAP-V2 (algorithm 0x81, RFC 2759 §2).
    public static let msCHAPv2 = Self(protocolNumber: .chap, data: [0x81])
    public static let eap = Self(protocolNumber: .eap)

    /// The method this value names, if we know it.
    public var method: AuthenticationMethod? {
        switch (protocolNumber, data) {
        case (.pap, []): return .pap
        case (.chap, [5]): return .chapMD5
        case (.chap, [0x80]): return .msCHAPv1
        case (.chap, [0x81]): return .msCHAPv2
        case (.eap, []): return .eap
        default: return nil
        }
    }

    /// As pppd prints it: `auth chap MS-v2`, `auth pap`.
    public var description: String {
        switch method {
        case .pap: return "auth pap"
        case .chapMD5: return "auth chap MD5"
        case .msCHAPv1: return "auth chap MS"
        case .msCHAPv2: return "auth chap MS-v2"
        case .eap: return "auth eap"
        case nil: return "auth \(protocolNumber) \(hexString(data))"
        }
    }
}

/// The authentication methods PPP knows, weakest first.
public enum AuthenticationMethod: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case pap = "PAP"
    case chapMD5 = "CHAP-MD5"
    case msCHAPv1 = "MS-CHAPv1"
    case msCHAPv2 = "MS-CHAPv2"
    case eap = "EAP"

    public var authenticationProtocol: AuthenticationProtocol {
        switch self {
        case .pap: return .pap
        case .chapMD5: return .chapMD5
        case .msCHAPv1: return .msCHAPv1
        case .msCHAPv2: return .msCHAPv2
        case .eap: return .eap
        }
    }

    /// Whether the method yields MPPE keys (RFC 3079 derives them from MS-CHAP only).
    public var providesMPPEKeys: Bool { self == .msCHAPv1 || self == .msCHAPv2 }

    public var description: String { rawValue }
}

/// An LCP configuration option (RFC 1661 §6, RFC 1570, RFC 1990 for MRRU and Endpoint
/// Discriminator). Unknown types, and known types with a malformed length, are kept raw in
/// `.other` so that the negotiator Configure-Rejects them.
public enum LCPOption: TypedConfigurationOption {
    /// Maximum-Receive-Unit, type 1 (RFC 1661 §6.1).
    case maximumReceiveUnit(UInt16)
    /// Async-Control-Character-Map, type 2 (RFC 1662 §7.1).
    case asyncControlCharacterMap(UInt32)
    /// Authentication-Protocol, type 3 (RFC 1661 §6.2).
    case authenticationProtocol(AuthenticationProtocol)
    /// Quality-Protocol, type 4 (RFC 1661 §6.3).
    case qualityProtocol(PPPProtocolNumber, data: [UInt8])
    /// Magic-Number, type 5 (RFC 1661 §6.4).
    case magicNumber(UInt32)
    /// Protocol-Field-Compression, type 7 (RFC 1661 §6.5).
    case protocolFieldCompression
    /// Address-and-Control-Field-Compression, type 8 (RFC 1661 §6.6).
    case addressAndControlFieldCompression
    /// Callback, type 13 (RFC 1570 §2.3): operation and message.
    case callback(operation: UInt8, message: [UInt8])
    /// Multilink MRRU, type 17 (RFC 1990 §5.1.1).
    case multilinkMRRU(UInt16)
    /// Endpoint Discriminator, type 19 (RFC 1990 §5.1.3).
    case endpointDiscriminator(class: UInt8, address: [UInt8])
    /// Any other option, or a known one with a malformed length.
    case other(ConfigurationOption)

    public static let controlProtocol = PPPProtocolNumber.lcp

    public static let typeMRU: UInt8 = 1
    public static let typeACCM: UInt8 = 2
    public static let typeAuthenticationProtocol: UInt8 = 3
    public static let typeQualityProtocol: UInt8 = 4
    public static let typeMagicNumber: UInt8 = 5
    public static let typePFC: UInt8 = 7
    public static let typeACFC: UInt8 = 8
    public static let typeCallback: UInt8 = 13
    public static let typeMRRU: UInt8 = 17
    public static let typeEndpointDiscriminator: UInt8 = 19

    public init(_ raw: ConfigurationOption) {
        let d = raw.data
        switch raw.type {
        case Self.typeMRU where d.count == 2:
            self = .maximumReceiveUnit(d.readBigEndian(at: 0) ?? 0)
        case Self.typeACCM where d.count == 4:
            self = .asyncControlCharacterMap(d.readBigEndian(at: 0) ?? 0)
        case Self.typeAuthenticationProtocol where d.count >= 2:
            self = .authenticationProtocol(
                .init(protocolNumber: .init(d.readBigEndian(at: 0) ?? 0), data: Array(d.dropFirst(2)))
            )
        case Self.typeQualityProtocol where d.count >= 2:
            self = .qualityProtocol(.init(d.readBigEndian(at: 0) ?? 0), data: Array(d.dropFirst(2)))
        case Self.typeMagicNumber where d.count == 4:
            self = .magicNumber(d.readBigEndian(at: 0) ?? 0)
        case Self.typePFC where d.isEmpty:
            self = .protocolFieldCompression
        case Self.typeACFC where d.isEmpty:
            self = .addressAndControlFieldCompression
        case Self.typeCallback where d.count >= 1:
            self = .callback(operation: d[0], message: Array(d.dropFirst()))
        case Self.typeMRRU where d.count == 2:
            self = .multilinkMRRU(d.readBigEndian(at: 0) ?? 0)
        case Self.typeEndpointDiscriminator where d.count >= 1:
            self = .endpointDiscriminator(class: d[0], address: Array(d.dropFirst()))
        default:
            self = .other(raw)
        }
    }

    public var raw: ConfigurationOption {
        switch self {
        case .maximumReceiveUnit(let mru): return .init(type: Self.typeMRU, data: mru.bigEndianBytes)
        case .asyncControlCharacterMap(let map): return .init(type: Self.typeACCM, data: map.bigEndianBytes)
        case .authenticationProtocol(let auth):
            return .init(
                type: Self.typeAuthenticationProtocol,
                data: auth.protocolNumber.rawValue.bigEndianBytes + auth.data
            )
        case .qualityProtocol(let proto, let data):
            return .init(type: Self.typeQualityProtocol, data: proto.rawValue.bigEndianBytes + data)
        case .magicNumber(let magic): return .init(type: Self.typeMagicNumber, data: magic.bigEndianBytes)
        case .protocolFieldCompression: return .init(type: Self.typePFC)
        case .addressAndControlFieldCompression: return .init(type: Self.typeACFC)
        case .callback(let operation, let message): return .init(type: Self.typeCallback, data: [operation] + message)
        case .multilinkMRRU(let mrru): return .init(type: Self.typeMRRU, data: mrru.bigEndianBytes)
        case .endpointDiscriminator(let cls, let address):
            return .init(type: Self.typeEndpointDiscriminator, data: [cls] + address)
        case .other(let raw): return raw
        }
    }

    /// As pppd prints options: `<mru 1400>`, `<asyncmap 0x0>`, `<magic 0x3a137395>`.
    public var description: String {
        switch self {
        case .maximumReceiveUnit(let mru): return "<mru \(mru)>"
        case .asyncControlCharacterMap(let map): return "<asyncmap 0x\(String(map, radix: 16))>"
        case .authenticationProtocol(let auth): return "<\(auth)>"
        case .qualityProtocol(let proto, let data): return "<quality \(proto) \(hexString(data))>"
        case .magicNumber(let magic): return "<magic 0x\(String(magic, radix: 16))>"
        case .protocolFieldCompression: return "<pcomp>"
        case .addressAndControlFieldCompression: return "<accomp>"
        case .callback(let operation, let message):
            return message.isEmpty ? "<callback op \(operation)>" : "<callback op \(operation) \(hexString(message))>"
        case .multilinkMRRU(let mrru): return "<mrru \(mrru)>"
        case .endpointDiscriminator(let cls, let address): return "<endpoint class \(cls) \(hexString(address))>"
        case .other(let raw): return raw.description
        }
    }
}

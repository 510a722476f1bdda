/// A PAP packet (RFC 1334 §2.2). The password never appears in `description`.
public enum PAPMessage: Hashable, Sendable, CustomStringConvertible {
    /// Code 1: Peer-ID and Password, each with a one-octet length.
    case authenticateRequest(peerID: [UInt8], password: [UInt8])
    /// Code 2, with a message.
    case authenticateAck(message: [UInt8])
    /// Code 3, with a message.
    case authenticateNak(message: [UInt8])
    /// A code PAP does not define.
    case unknown(ControlCode, data: [UInt8])

    public init(_ packet: ControlPacket) throws(PPPWireError) {
        let d = packet.data
        switch packet.code.rawValue {
        case 1:
            guard let idLength = d.first else { throw .truncated(needed: 1, available: 0) }
            let idEnd = 1 + Int(idLength)
            guard idEnd < d.count else { throw .fieldLength(declared: Int(idLength), available: d.count - 1) }
            let passwordLength = Int(d[idEnd])
            guard idEnd + 1 + passwordLength <= d.count else {
                throw .fieldLength(declared: passwordLength, available: d.count - idEnd - 1)
            }
            self = .authenticateRequest(
                peerID: Array(d[1..<idEnd]),
                password: Array(d[(idEnd + 1)..<(idEnd + 1 + passwordLength)])
            )
        case 2, 3:
            // RFC 1334 §2.2.2: Msg-Length then Message; tolerate a missing message.
            var message: [UInt8] = []
            if let length = d.first {
                guard 1 + Int(length) <= d.count else {
                    throw .fieldLength(declared: Int(length), available: d.count - 1)
                }
                message = Array(d[1..<(1 + Int(length))])
            }
            self = packet.code.rawValue == 2 ? .authenticateAck(message: message) : .authenticateNak(message: message)
        default:
            self = .unknown(packet.code, data: d)
        }
    }

    public func packet(identifier: UInt8) -> ControlPacket {
        switch self {
        case .authenticateRequest(let peerID, let password):
            let id = Array(peerID.prefix(255))
            let pw = Array(password.prefix(255))
            return ControlPacket(
                code: .init(1),
                identifier: identifier,
                data: [UInt8(id.count)] + id + [UInt8(pw.count)] + pw
            )
        case .authenticateAck(let message):
            let m = Array(message.prefix(255))
            return ControlPacket(code: .init(2), identifier: identifier, data: [UInt8(m.count)] + m)
        case .authenticateNak(let message):
            let m = Array(message.prefix(255))
            return ControlPacket(code: .init(3), identifier: identifier, data: [UInt8(m.count)] + m)
        case .unknown(let code, let data):
            return ControlPacket(code: code, identifier: identifier, data: data)
        }
    }

    public var description: String { description(showPassword: false) }

    /// The packet as a log line; the password is masked unless `showPassword`.
    public func description(showPassword: Bool) -> String {
        switch self {
        case .authenticateRequest(let peerID, let password):
            let shown = showPassword ? quotedText(password) : "<hidden, \(password.count) octets>"
            return "PAP AuthReq user=\(quotedText(peerID)) password=\(shown)"
        case .authenticateAck(let message): return "PAP AuthAck \(quotedText(message))"
        case .authenticateNak(let message): return "PAP AuthNak \(quotedText(message))"
        case .unknown(let code, let data): return "PAP code=\(code.rawValue) \(data.count) octets"
        }
    }
}

/// A CHAP packet (RFC 1994 §4), also carrying MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759),
/// whose values have the fixed layouts of `MSCHAPv1Response` and `MSCHAPv2Response`.
public enum CHAPMessage: Hashable, Sendable, CustomStringConvertible {
    /// Code 1: the challenge value and the authenticator's name.
    case challenge(value: [UInt8], name: [UInt8])
    /// Code 2: the response value and the peer's name.
    case response(value: [UInt8], name: [UInt8])
    /// Code 3: a message (MS-CHAPv2: "S=<authenticator response> M=<text>").
    case success(message: [UInt8])
    /// Code 4: a message (MS-CHAP: "E=691 R=1 C=… V=3 M=…").
    case failure(message: [UInt8])
    /// MS-CHAPv2 Change-Password, code 7 (RFC 2759 §7).
    case changePasswordV2(MSCHAPv2ChangePassword)
    /// Any other code (MS-CHAPv1's change-password codes 5 and 6 among them).
    case unknown(ControlCode, data: [UInt8])

    public init(_ packet: ControlPacket) throws(PPPWireError) {
        let d = packet.data
        switch packet.code.rawValue {
        case 1, 2:
            guard let size = d.first else { throw .truncated(needed: 1, available: 0) }
            guard 1 + Int(size) <= d.count else { throw .fieldLength(declared: Int(size), available: d.count - 1) }
            let value = Array(d[1..<(1 + Int(size))])
            let name = Array(d[(1 + Int(size))...])
            self =
                packet.code.rawValue == 1 ? .challenge(value: value, name: name) : .response(value: value, name: name)
        case 3: self = .success(message: d)
        case 4: self = .failure(message: d)
        case 7: self = .changePasswordV2(try MSCHAPv2ChangePassword(d))
        default: self = .unknown(packet.code, data: d)
        }
    }

    public func packet(identifier: UInt8) -> ControlPacket {
        switch self {
        case .challenge(let value, let name):
            let v = Array(value.prefix(255))
            return ControlPacket(code: .init(1), identifier: identifier, data: [UInt8(v.count)] + v + name)
        case .response(let value, let name):
            let v = Array(value.prefix(255))
            return ControlPacket(code: .init(2), identifier: identifier, data: [UInt8(v.count)] + v + name)
        case .success(let message): return ControlPacket(code: .init(3), identifier: identifier, data: message)
        case .failure(let message): return ControlPacket(code: .init(4), identifier: identifier, data: message)
        case .changePasswordV2(let change):
            return ControlPacket(code: .init(7), identifier: identifier, data: change.bytes)
        case .unknown(let code, let data): return ControlPacket(code: code, identifier: identifier, data: data)
        }
    }

    /// As pppd logs them: `CHAP Challenge id=0x40 <0d3c…>, name = "pptpd"`.
    public var description: String {
        switch self {
        case .challenge(let value, let name): return "CHAP Challenge <\(hexString(value))>, name = \(quotedText(name))"
        case .response(let value, let name): return "CHAP Response <\(hexString(value))>, name = \(quotedText(name))"
        case .success(let message): return "CHAP Success \(quotedText(message))"
        case .failure(let message): return "CHAP Failure \(quotedText(message))"
        case .changePasswordV2: return "MS-CHAPv2 Change-Password (encrypted blocks hidden)"
        case .unknown(let code, let data): return "CHAP code=\(code.rawValue) \(data.count) octets"
        }
    }
}

/// The 49-octet Response value of MS-CHAPv1 (RFC 2433 §3): LM-Response (24, zero when not sent),
/// NT-Response (24), Use-NT flag (1).
public struct MSCHAPv1Response: Hashable, Sendable {
    public var lmResponse: [UInt8]
    public var ntResponse: [UInt8]
    /// 1: use the NT-Response; 0: use the LM-Response (which we never send).
    public var useNTResponse: Bool

    public static let length = 49

    public init(ntResponse: [UInt8], lmResponse: [UInt8] = Array(repeating: 0, count: 24), useNTResponse: Bool = true) {
        self.ntResponse = ntResponse
        self.lmResponse = lmResponse
        self.useNTResponse = useNTResponse
    }

    public init(_ value: [UInt8]) throws(PPPWireError) {
        guard value.count == Self.length else { throw .unexpectedLength(expected: Self.length, actual: value.count) }
        lmResponse = Array(value[0..<24])
        ntResponse = Array(value[24..<48])
        useNTResponse = value[48] == 1
    }

    public var bytes: [UInt8] { lmResponse + ntResponse + [useNTResponse ? 1 : 0] }
}

/// The 49-octet Response value of MS-CHAPv2 (RFC 2759 §4): Peer-Challenge (16), Reserved (8,
/// zero), NT-Response (24), Flags (1, zero).
public struct MSCHAPv2Response: Hashable, Sendable {
    public var peerChallenge: [UInt8]
    public var ntResponse: [UInt8]
    public var flags: UInt8

    public static let length = 49

    public init(peerChallenge: [UInt8], ntResponse: [UInt8], flags: UInt8 = 0) {
        self.peerChallenge = peerChallenge
        self.ntResponse = ntResponse
        self.flags = flags
    }

    public init(_ value: [UInt8]) throws(PPPWireError) {
        guard value.count == Self.length else { throw .unexpectedLength(expected: Self.length, actual: value.count) }
        peerChallenge = Array(value[0..<16])
        ntResponse = Array(value[24..<48])
        flags = value[48]
    }

    public var bytes: [UInt8] { peerChallenge + Array(repeating: 0, count: 8) + ntResponse + [flags] }
}

/// The MS-CHAPv2 Change-Password packet body (RFC 2759 §7, 582 octets): Encrypted-Password (516),
/// Encrypted-Hash (16), Peer-Challenge (16), Reserved (8), NT-Response (24), Flags (2).
public struct MSCHAPv2ChangePassword: Hashable, Sendable {
    public var encryptedPassword: [UInt8]
    public var encryptedHash: [UInt8]
    public var peerChallenge: [UInt8]
    public var ntResponse: [UInt8]
    public var flags: UInt16

    public static let length = 582

    public init(
        encryptedPassword: [UInt8],
        encryptedHash: [UInt8],
        peerChallenge: [UInt8],
        ntResponse: [UInt8],
        flags: UInt16 = 0
    ) {
        self.encryptedPassword = encryptedPassword
        self.encryptedHash = encryptedHash
        self.peerChallenge = peerChallenge
        self.ntResponse = ntResponse
        self.flags = flags
    }

    public init(_ data: [UInt8]) throws(PPPWireError) {
        guard data.count == Self.length else { throw .unexpectedLength(expected: Self.length, actual: data.count) }
        encryptedPassword = Array(data[0..<516])
        encryptedHash = Array(data[516..<532])
        peerChallenge = Array(data[532..<548])
        ntResponse = Array(data[556..<580])
        flags = UInt16(data[580]) << 8 | UInt16(data[581])
    }

    public var bytes: [UInt8] {
        encryptedPassword + encryptedHash + peerChallenge + Array(repeating: 0, count: 8) + ntResponse
            + flags.bigEndianBytes
    }
}

/// MS-CHAP failure codes (RFC 2433 §6, RFC 2759 §6; the numbers are Windows' raserror.h codes).
public struct MSCHAPErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let restrictedLogonHours = Self(rawValue: 646)
    public static let accountDisabled = Self(rawValue: 647)
    public static let passwordExpired = Self(rawValue: 648)
    public static let noDialinPermission = Self(rawValue: 649)
    public static let authenticationFailure = Self(rawValue: 691)
    public static let changingPassword = Self(rawValue: 709)

    public var description: String {
        switch rawValue {
        case 646: return "646 restricted logon hours"
        case 647: return "647 account disabled"
        case 648: return "648 password expired"
        case 649: return "649 no dial-in permission"
        case 691: return "691 authentication failure (bad user name or password)"
        case 709: return "709 error changing password"
        default: return "\(rawValue)"
        }
    }
}

/// The MS-CHAP Failure message "E=eeeeeeeeee R=r C=cccc… V=vvvvvvvvvv M=<msg>" (RFC 2759 §6,
/// RFC 2433 §6 for v1, where C is 16 hex digits and V is 2).
public struct MSCHAPFailure: Hashable, Sendable, CustomStringConvertible {
    public var error: MSCHAPErrorCode
    /// R=1: the peer may retry (with a new challenge: the one in `challenge`, or for MS-CHAPv1
    /// the previous challenge + 23).
    public var retryAllowed: Bool
    /// C=: the new challenge for a retry (16 octets for v2, 8 for v1), if present.
    public var challenge: [UInt8]?
    /// V=: the password-change protocol version (3 for MS-CHAPv2).
    public var version: Int?
    /// M=: free text for the user.
    public var message: String?

    public init(
        error: MSCHAPErrorCode,
        retryAllowed: Bool = false,
        challenge: [UInt8]? = nil,
        version: Int? = 3,
        message: String? = nil
    ) {
        self.error = error
        self.retryAllowed = retryAllowed
        self.challenge = challenge
        self.version = version
        self.message = message
    }

    /// Parses the message; tolerant of missing fields except E=, as pppd is.
    public init(_ bytes: [UInt8]) throws(PPPWireError) {
        let text = String(decoding: bytes, as: UTF8.self)
        var error: Int?
        var retry = false
        var challenge: [UInt8]?
        var version: Int?
        var message: String?
        var rest = Substring(text)
        while !rest.isEmpty {
            rest = rest.drop(while: { $0 == " " })
            if rest.hasPrefix("M=") {
                message = String(rest.dropFirst(2))
                break
            }
            let token = rest.prefix(while: { $0 != " " })
            rest = rest.dropFirst(token.count)
            guard token.count >= 2, token.dropFirst().first == "=" else { continue }
            let value = token.dropFirst(2)
            switch token.first {
            case "E": error = Int(value)
            case "R": retry = value == "1"
            case "C": challenge = parseHex(value)
            case "V": version = Int(value)
            default: break
            }
        }
        guard let error else { throw .malformedText(field: UInt8(ascii: "E")) }
        self.init(
            error: MSCHAPErrorCode(rawValue: error),
            retryAllowed: retry,
            challenge: challenge,
            version: version,
            message: message
        )
    }

    /// The message as sent on the wire: `E=691 R=0 C=<32 hex> V=3 M=Authentication failed`.
    public var bytes: [UInt8] {
        var text = "E=\(error.rawValue) R=\(retryAllowed ? 1 : 0)"
        if let challenge { text += " C=" + hexString(challenge).uppercased() }
        if let version { text += " V=\(version)" }
        if let message { text += " M=" + message }
        return Array(text.utf8)
    }

    public var description: String {
        var text = "MS-CHAP error \(error)"
        if retryAllowed { text += ", retry allowed" }
        if let message, !message.isEmpty { text += ": \(message)" }
        return text
    }
}

/// The MS-CHAPv2 Success message "S=<40 hex digits> M=<msg>" (RFC 2759 §5).
public struct MSCHAPv2Success: Hashable, Sendable {
    /// The 20-octet authenticator response.
    public var authenticatorResponse: [UInt8]
    public var message: String?

    public init(authenticatorResponse: [UInt8], message: String? = nil) {
        self.authenticatorResponse = authenticatorResponse
        self.message = message
    }

    public init(_ bytes: [UInt8]) throws(PPPWireError) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("S="), let response = parseHex(text.dropFirst(2).prefix(40)), response.count == 20 else {
            throw .malformedText(field: UInt8(ascii: "S"))
        }
        authenticatorResponse = response
        let rest = text.dropFirst(42).drop(while: { $0 == " " })
        message = rest.hasPrefix("M=") ? String(rest.dropFirst(2)) : nil
    }

    public var bytes: [UInt8] {
        var text = "S=" + hexString(authenticatorResponse).uppercased()
        if let message { text += " M=" + message }
        return Array(text.utf8)
    }
}

/// Parses hexadecimal digits (either case); nil on an odd count or a non-hex character.
public func parseHex(_ text: some StringProtocol) -> [UInt8]? {
    var out: [UInt8] = []
    var high: UInt8?
    for scalar in text.unicodeScalars {
        let digit: UInt8
        switch scalar.value {
        case 0x30...0x39: digit = UInt8(scalar.value - 0x30)
        case 0x41...0x46: digit = UInt8(scalar.value - 0x41 + 10)
        case 0x61...0x66: digit = UInt8(scalar.value - 0x61 + 10)
        default: return nil
        }
        if let h = high {
            out.append(h << 4 | digit)
            high = nil
        } else {
            high = digit
        }
    }
    return high == nil ? out : nil
}

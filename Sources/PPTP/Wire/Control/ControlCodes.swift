/// The wire codes of PPTP control messages (RFC 2637 §2), as open structs: a value the RFC does
/// not name is data, kept and printed as a number, never an error.

/// Control Message Type (RFC 2637 §1.4, the 15 values of §2).
public struct ControlMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let startControlConnectionRequest = Self(rawValue: 1)
    public static let startControlConnectionReply = Self(rawValue: 2)
    public static let stopControlConnectionRequest = Self(rawValue: 3)
    public static let stopControlConnectionReply = Self(rawValue: 4)
    public static let echoRequest = Self(rawValue: 5)
    public static let echoReply = Self(rawValue: 6)
    public static let outgoingCallRequest = Self(rawValue: 7)
    public static let outgoingCallReply = Self(rawValue: 8)
    public static let incomingCallRequest = Self(rawValue: 9)
    public static let incomingCallReply = Self(rawValue: 10)
    public static let incomingCallConnected = Self(rawValue: 11)
    public static let callClearRequest = Self(rawValue: 12)
    public static let callDisconnectNotify = Self(rawValue: 13)
    public static let wanErrorNotify = Self(rawValue: 14)
    public static let setLinkInfo = Self(rawValue: 15)

    /// The fixed length of each message, header included (RFC 2637 §2.1–§2.15).
    public var fixedLength: UInt16? {
        switch rawValue {
        case 1, 2: return 156
        case 3, 4, 5, 12: return 16
        case 6: return 20
        case 7: return 168
        case 8: return 32
        case 9: return 220
        case 10, 15: return 24
        case 11: return 28
        case 13: return 148
        case 14: return 40
        default: return nil
        }
    }

    /// The abbreviation used in RFC 2637 and in logs (`SCCRQ`, `OCRP`, …).
    public var description: String {
        switch rawValue {
        case 1: return "SCCRQ"
        case 2: return "SCCRP"
        case 3: return "StopCCRQ"
        case 4: return "StopCCRP"
        case 5: return "Echo-Request"
        case 6: return "Echo-Reply"
        case 7: return "OCRQ"
        case 8: return "OCRP"
        case 9: return "ICRQ"
        case 10: return "ICRP"
        case 11: return "ICCN"
        case 12: return "Call-Clear-Request"
        case 13: return "Call-Disconnect-Notify"
        case 14: return "WAN-Error-Notify"
        case 15: return "Set-Link-Info"
        default: return "ControlMessageType(\(rawValue))"
        }
    }
}

/// General error codes carried in the Error Code field of replies (RFC 2637 §2.2, table in §2.16).
public struct GeneralErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let none = Self(rawValue: 0)
    /// A control message was received before the control connection was established.
    public static let notConnected = Self(rawValue: 1)
    /// Length is wrong or the Magic Cookie is wrong.
    public static let badFormat = Self(rawValue: 2)
    /// A field is out of range or a reserved field is not zero.
    public static let badValue = Self(rawValue: 3)
    /// Insufficient resources to handle the command.
    public static let noResource = Self(rawValue: 4)
    /// The Call ID is invalid in this context.
    public static let badCallID = Self(rawValue: 5)
    /// A generic vendor-specific error occurred in the PAC.
    public static let pacError = Self(rawValue: 6)

    public var description: String {
        switch rawValue {
        case 0: return "none"
        case 1: return "not connected"
        case 2: return "bad format"
        case 3: return "bad value"
        case 4: return "no resource"
        case 5: return "bad Call ID"
        case 6: return "PAC error"
        default: return "error \(rawValue)"
        }
    }
}

/// Result Code of Start-Control-Connection-Reply (RFC 2637 §2.2).
public struct StartControlConnectionResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let success = Self(rawValue: 1)
    public static let generalError = Self(rawValue: 2)
    /// A control connection already exists between this pair of peers.
    public static let alreadyExists = Self(rawValue: 3)
    public static let notAuthorized = Self(rawValue: 4)
    /// The protocol version of the requester is not supported.
    public static let unsupportedVersion = Self(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 1: return "successful channel establishment"
        case 2: return "general error"
        case 3: return "command channel already exists"
        case 4: return "requester is not authorized"
        case 5: return "protocol version not supported"
        default: return "result \(rawValue)"
        }
    }
}

/// Reason of Stop-Control-Connection-Request (RFC 2637 §2.3).
public struct StopControlConnectionReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let none = Self(rawValue: 1)
    /// Cannot support the peer's version of the protocol.
    public static let stopProtocol = Self(rawValue: 2)
    /// The requester is being shut down.
    public static let localShutdown = Self(rawValue: 3)

    public var description: String {
        switch rawValue {
        case 1: return "general request"
        case 2: return "protocol version not supported"
        case 3: return "local shutdown"
        default: return "reason \(rawValue)"
        }
    }
}

/// Result Code of Stop-Control-Connection-Reply and Echo-Reply (RFC 2637 §2.4, §2.6): 1 OK,
/// 2 general error.
public struct GeneralResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let ok = Self(rawValue: 1)
    public static let generalError = Self(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 1: return "OK"
        case 2: return "general error"
        default: return "result \(rawValue)"
        }
    }
}

/// Result Code of Outgoing-Call-Reply (RFC 2637 §2.8).
public struct OutgoingCallResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let connected = Self(rawValue: 1)
    public static let generalError = Self(rawValue: 2)
    public static let noCarrier = Self(rawValue: 3)
    public static let busy = Self(rawValue: 4)
    public static let noDialTone = Self(rawValue: 5)
    public static let timeout = Self(rawValue: 6)
    /// The call is administratively prohibited.
    public static let doNotAccept = Self(rawValue: 7)

    public var description: String {
        switch rawValue {
        case 1: return "connected"
        case 2: return "general error"
        case 3: return "no carrier"
        case 4: return "busy"
        case 5: return "no dial tone"
        case 6: return "time-out"
        case 7: return "do not accept (administratively prohibited)"
        default: return "result \(rawValue)"
        }
    }
}

/// Result Code of Incoming-Call-Reply (RFC 2637 §2.10).
public struct IncomingCallResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let connect = Self(rawValue: 1)
    public static let generalError = Self(rawValue: 2)
    public static let doNotAccept = Self(rawValue: 3)

    public var description: String {
        switch rawValue {
        case 1: return "connect"
        case 2: return "general error"
        case 3: return "do not accept"
        default: return "result \(rawValue)"
        }
    }
}

/// Result Code of Call-Disconnect-Notify (RFC 2637 §2.13). Windows always sends 0, which the RFC
/// does not define ([MS-PTPT] §3.2.5.5): it is accepted and printed as "unspecified".
public struct CallDisconnectResult: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unspecified = Self(rawValue: 0)
    public static let lostCarrier = Self(rawValue: 1)
    public static let generalError = Self(rawValue: 2)
    public static let adminShutdown = Self(rawValue: 3)
    /// The call was disconnected because a Call-Clear-Request was received.
    public static let request = Self(rawValue: 4)

    public var description: String {
        switch rawValue {
        case 0: return "unspecified (0, as Windows sends)"
        case 1: return "lost carrier"
        case 2: return "general error"
        case 3: return "administrative shutdown"
        case 4: return "call clear requested"
        default: return "result \(rawValue)"
        }
    }
}

/// Framing Capabilities of SCCRQ/SCCRP (RFC 2637 §2.1): bit 0 asynchronous, bit 1 synchronous.
public struct FramingCapabilities: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let asynchronous = Self(rawValue: 1)
    public static let synchronous = Self(rawValue: 2)

    public var description: String { capabilityDescription(rawValue, names: [(1, "async"), (2, "sync")]) }
}

/// Bearer Capabilities of SCCRQ/SCCRP (RFC 2637 §2.1): bit 0 analog, bit 1 digital.
public struct BearerCapabilities: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let analog = Self(rawValue: 1)
    public static let digital = Self(rawValue: 2)

    public var description: String { capabilityDescription(rawValue, names: [(1, "analog"), (2, "digital")]) }
}

/// Framing Type of OCRQ and ICCN (RFC 2637 §2.7, §2.11): 1 async, 2 sync, 3 either.
public struct FramingType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let asynchronous = Self(rawValue: 1)
    public static let synchronous = Self(rawValue: 2)
    public static let either = Self(rawValue: 3)

    public var description: String {
        switch rawValue {
        case 1: return "async"
        case 2: return "sync"
        case 3: return "either"
        default: return "framing \(rawValue)"
        }
    }
}

/// Bearer Type of OCRQ and ICRQ (RFC 2637 §2.7, §2.9): 1 analog, 2 digital, 3 either.
public struct BearerType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let analog = Self(rawValue: 1)
    public static let digital = Self(rawValue: 2)
    public static let either = Self(rawValue: 3)

    public var description: String {
        switch rawValue {
        case 1: return "analog"
        case 2: return "digital"
        case 3: return "either"
        default: return "bearer \(rawValue)"
        }
    }
}

private func capabilityDescription(_ raw: UInt32, names: [(UInt32, String)]) -> String {
    var parts: [String] = []
    var rest = raw
    for (bit, name) in names where raw & bit != 0 {
        parts.append(name)
        rest &= ~bit
    }
    if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
    return parts.isEmpty ? "none" : parts.joined(separator: "+")
}

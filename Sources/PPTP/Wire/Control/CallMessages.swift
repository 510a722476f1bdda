import NIOCore

/// Outgoing-Call-Request, RFC 2637 §2.7 (168 octets): PNS asks the PAC to place a call
/// (the voluntary-tunnel VPN client's request).
public struct OutgoingCallRequest: ControlMessageBody {
    public static let messageType = ControlMessageType.outgoingCallRequest

    /// Assigned by the PNS; the PAC sends GRE to the PNS with this Call ID. 0 is legal.
    public var callID: UInt16
    public var callSerialNumber: UInt16
    public var minimumBPS: UInt32
    public var maximumBPS: UInt32
    public var bearerType: BearerType
    public var framingType: FramingType
    /// Received data packets the PNS will buffer for this call (RFC 2637 §4.2).
    public var receiveWindowSize: UInt16
    /// Processing delay in 1/10 s (RFC 2637 §2.7).
    public var processingDelay: UInt16
    /// The phone number (its length is the Phone Number Length field).
    public var phoneNumber: FixedWidthString
    public var phoneNumberLength: UInt16
    public var subaddress: FixedWidthString

    public init(
        callID: UInt16,
        callSerialNumber: UInt16,
        minimumBPS: UInt32 = 300,
        maximumBPS: UInt32 = 100_000_000,
        bearerType: BearerType = .either,
        framingType: FramingType = .either,
        receiveWindowSize: UInt16 = 64,
        processingDelay: UInt16 = 0,
        phoneNumber: String = "",
        subaddress: String = ""
    ) {
        self.callID = callID
        self.callSerialNumber = callSerialNumber
        self.minimumBPS = minimumBPS
        self.maximumBPS = maximumBPS
        self.bearerType = bearerType
        self.framingType = framingType
        self.receiveWindowSize = receiveWindowSize
        self.processingDelay = processingDelay
        self.phoneNumber = FixedWidthString(phoneNumber, width: 64)
        self.phoneNumberLength = UInt16(min(phoneNumber.utf8.count, 64))
        self.subaddress = FixedWidthString(subaddress, width: 64)
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        callID = try body.readWire()
        callSerialNumber = try body.readWire()
        minimumBPS = try body.readWire()
        maximumBPS = try body.readWire()
        bearerType = .init(rawValue: try body.readWire())
        framingType = .init(rawValue: try body.readWire())
        receiveWindowSize = try body.readWire()
        processingDelay = try body.readWire()
        phoneNumberLength = try body.readWire()
        try body.skipReserved(2)
        phoneNumber = try .read(from: &body, width: 64)
        subaddress = try .read(from: &body, width: 64)
        // The length is informational (pptp-linux sends the string length, Windows 0); we keep it
        // for byte-exact round trips but never read beyond the 64-octet field because of it.
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeInteger(callSerialNumber)
        buffer.writeInteger(minimumBPS)
        buffer.writeInteger(maximumBPS)
        buffer.writeInteger(bearerType.rawValue)
        buffer.writeInteger(framingType.rawValue)
        buffer.writeInteger(receiveWindowSize)
        buffer.writeInteger(processingDelay)
        buffer.writeInteger(phoneNumberLength)
        buffer.writeZeros(2)
        phoneNumber.write(to: &buffer)
        subaddress.write(to: &buffer)
    }
}

/// Outgoing-Call-Reply, RFC 2637 §2.8 (32 octets).
public struct OutgoingCallReply: ControlMessageBody {
    public static let messageType = ControlMessageType.outgoingCallReply

    /// Assigned by the PAC: the PNS sends GRE to the PAC with this Call ID.
    public var callID: UInt16
    /// The Call ID from the OCRQ this answers.
    public var peerCallID: UInt16
    public var resultCode: OutgoingCallResult
    public var errorCode: GeneralErrorCode
    /// Additional failure information (e.g. Q.931 cause); 0 for PPTP VPNs.
    public var causeCode: UInt16
    public var connectSpeed: UInt32
    public var receiveWindowSize: UInt16
    public var processingDelay: UInt16
    public var physicalChannelID: UInt32

    public init(
        callID: UInt16,
        peerCallID: UInt16,
        resultCode: OutgoingCallResult = .connected,
        errorCode: GeneralErrorCode = .none,
        causeCode: UInt16 = 0,
        connectSpeed: UInt32 = 100_000_000,
        receiveWindowSize: UInt16 = 64,
        processingDelay: UInt16 = 0,
        physicalChannelID: UInt32 = 0
    ) {
        self.callID = callID
        self.peerCallID = peerCallID
        self.resultCode = resultCode
        self.errorCode = errorCode
        self.causeCode = causeCode
        self.connectSpeed = connectSpeed
        self.receiveWindowSize = receiveWindowSize
        self.processingDelay = processingDelay
        self.physicalChannelID = physicalChannelID
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        callID = try body.readWire()
        peerCallID = try body.readWire()
        resultCode = .init(rawValue: try body.readWire())
        errorCode = .init(rawValue: try body.readWire())
        causeCode = try body.readWire()
        connectSpeed = try body.readWire()
        receiveWindowSize = try body.readWire()
        processingDelay = try body.readWire()
        physicalChannelID = try body.readWire()
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeInteger(peerCallID)
        buffer.writeInteger(resultCode.rawValue)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeInteger(causeCode)
        buffer.writeInteger(connectSpeed)
        buffer.writeInteger(receiveWindowSize)
        buffer.writeInteger(processingDelay)
        buffer.writeInteger(physicalChannelID)
    }
}

/// Incoming-Call-Request, RFC 2637 §2.9 (220 octets): the PAC tells the PNS that a user dialled
/// in (compulsory tunnelling).
public struct IncomingCallRequest: ControlMessageBody {
    public static let messageType = ControlMessageType.incomingCallRequest

    /// Assigned by the PAC.
    public var callID: UInt16
    public var callSerialNumber: UInt16
    public var bearerType: BearerType
    public var physicalChannelID: UInt32
    public var dialedNumberLength: UInt16
    public var dialingNumberLength: UInt16
    /// The number that was dialled (DNIS), 64 octets.
    public var dialedNumber: FixedWidthString
    /// The number of the caller (CLID), 64 octets.
    public var dialingNumber: FixedWidthString
    public var subaddress: FixedWidthString

    public init(
        callID: UInt16,
        callSerialNumber: UInt16,
        bearerType: BearerType = .analog,
        physicalChannelID: UInt32 = 0,
        dialedNumber: String = "",
        dialingNumber: String = "",
        subaddress: String = ""
    ) {
        self.callID = callID
        self.callSerialNumber = callSerialNumber
        self.bearerType = bearerType
        self.physicalChannelID = physicalChannelID
        self.dialedNumber = FixedWidthString(dialedNumber, width: 64)
        self.dialedNumberLength = UInt16(min(dialedNumber.utf8.count, 64))
        self.dialingNumber = FixedWidthString(dialingNumber, width: 64)
        self.dialingNumberLength = UInt16(min(dialingNumber.utf8.count, 64))
        self.subaddress = FixedWidthString(subaddress, width: 64)
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        callID = try body.readWire()
        callSerialNumber = try body.readWire()
        bearerType = .init(rawValue: try body.readWire())
        physicalChannelID = try body.readWire()
        dialedNumberLength = try body.readWire()
        dialingNumberLength = try body.readWire()
        dialedNumber = try .read(from: &body, width: 64)
        dialingNumber = try .read(from: &body, width: 64)
        subaddress = try .read(from: &body, width: 64)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeInteger(callSerialNumber)
        buffer.writeInteger(bearerType.rawValue)
        buffer.writeInteger(physicalChannelID)
        buffer.writeInteger(dialedNumberLength)
        buffer.writeInteger(dialingNumberLength)
        dialedNumber.write(to: &buffer)
        dialingNumber.write(to: &buffer)
        subaddress.write(to: &buffer)
    }
}

/// Incoming-Call-Reply, RFC 2637 §2.10 (24 octets).
public struct IncomingCallReply: ControlMessageBody {
    public static let messageType = ControlMessageType.incomingCallReply

    /// Assigned by the PNS.
    public var callID: UInt16
    /// The Call ID from the ICRQ this answers.
    public var peerCallID: UInt16
    public var resultCode: IncomingCallResult
    public var errorCode: GeneralErrorCode
    public var receiveWindowSize: UInt16
    /// Packet Transmit Delay, 1/10 s.
    public var transmitDelay: UInt16

    public init(
        callID: UInt16,
        peerCallID: UInt16,
        resultCode: IncomingCallResult = .connect,
        errorCode: GeneralErrorCode = .none,
        receiveWindowSize: UInt16 = 64,
        transmitDelay: UInt16 = 0
    ) {
        self.callID = callID
        self.peerCallID = peerCallID
        self.resultCode = resultCode
        self.errorCode = errorCode
        self.receiveWindowSize = receiveWindowSize
        self.transmitDelay = transmitDelay
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        callID = try body.readWire()
        peerCallID = try body.readWire()
        resultCode = .init(rawValue: try body.readWire())
        errorCode = .init(rawValue: try body.readWire())
        receiveWindowSize = try body.readWire()
        transmitDelay = try body.readWire()
        try body.skipReserved(2)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeInteger(peerCallID)
        buffer.writeInteger(resultCode.rawValue)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeInteger(receiveWindowSize)
        buffer.writeInteger(transmitDelay)
        buffer.writeZeros(2)
    }
}

/// Incoming-Call-Connected, RFC 2637 §2.11 (28 octets): the PAC completes the incoming call.
public struct IncomingCallConnected: ControlMessageBody {
    public static let messageType = ControlMessageType.incomingCallConnected

    /// The Call ID the PNS assigned in its ICRP.
    public var peerCallID: UInt16
    public var connectSpeed: UInt32
    public var receiveWindowSize: UInt16
    public var transmitDelay: UInt16
    public var framingType: FramingType

    public init(
        peerCallID: UInt16,
        connectSpeed: UInt32 = 100_000_000,
        receiveWindowSize: UInt16 = 64,
        transmitDelay: UInt16 = 0,
        framingType: FramingType = .asynchronous
    ) {
        self.peerCallID = peerCallID
        self.connectSpeed = connectSpeed
        self.receiveWindowSize = receiveWindowSize
        self.transmitDelay = transmitDelay
        self.framingType = framingType
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        peerCallID = try body.readWire()
        try body.skipReserved(2)
        connectSpeed = try body.readWire()
        receiveWindowSize = try body.readWire()
        transmitDelay = try body.readWire()
        framingType = .init(rawValue: try body.readWire())
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(peerCallID)
        buffer.writeZeros(2)
        buffer.writeInteger(connectSpeed)
        buffer.writeInteger(receiveWindowSize)
        buffer.writeInteger(transmitDelay)
        buffer.writeInteger(framingType.rawValue)
    }
}

/// Call-Clear-Request, RFC 2637 §2.12 (16 octets): PNS to PAC, hang up this call.
public struct CallClearRequest: ControlMessageBody {
    public static let messageType = ControlMessageType.callClearRequest

    /// The PNS's own Call ID for the call (the one it assigned).
    public var callID: UInt16

    public init(callID: UInt16) { self.callID = callID }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        callID = try body.readWire()
        try body.skipReserved(2)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeZeros(2)
    }
}

/// Call-Disconnect-Notify, RFC 2637 §2.13 (148 octets): PAC to PNS, the call is gone.
public struct CallDisconnectNotify: ControlMessageBody {
    public static let messageType = ControlMessageType.callDisconnectNotify

    /// The PAC's own Call ID for the call ("used instead of the Peer's Call ID because the latter
    /// may not be known to the PNS if the call must be aborted during call establishment").
    public var callID: UInt16
    public var resultCode: CallDisconnectResult
    public var errorCode: GeneralErrorCode
    public var causeCode: UInt16
    /// Vendor-specific ASCII statistics, 128 octets.
    public var callStatistics: FixedWidthString

    public init(
        callID: UInt16,
        resultCode: CallDisconnectResult = .request,
        errorCode: GeneralErrorCode = .none,
        causeCode: UInt16 = 0,
        callStatistics: String = ""
    ) {
        self.callID = callID
        self.resultCode = resultCode
        self.errorCode = errorCode
        self.causeCode = causeCode
        self.callStatistics = FixedWidthString(callStatistics, width: 128)
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        callID = try body.readWire()
        resultCode = .init(rawValue: try body.readWire())
        errorCode = .init(rawValue: try body.readWire())
        causeCode = try body.readWire()
        try body.skipReserved(2)
        callStatistics = try .read(from: &body, width: 128)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(callID)
        buffer.writeInteger(resultCode.rawValue)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeInteger(causeCode)
        buffer.writeZeros(2)
        callStatistics.write(to: &buffer)
    }
}

/// WAN-Error-Notify, RFC 2637 §2.14 (40 octets): PAC to PNS, cumulative line errors.
public struct WANErrorNotify: ControlMessageBody {
    public static let messageType = ControlMessageType.wanErrorNotify

    public var peerCallID: UInt16
    public var crcErrors: UInt32
    public var framingErrors: UInt32
    public var hardwareOverruns: UInt32
    public var bufferOverruns: UInt32
    public var timeoutErrors: UInt32
    public var alignmentErrors: UInt32

    public init(
        peerCallID: UInt16,
        crcErrors: UInt32 = 0,
        framingErrors: UInt32 = 0,
        hardwareOverruns: UInt32 = 0,
        bufferOverruns: UInt32 = 0,
        timeoutErrors: UInt32 = 0,
        alignmentErrors: UInt32 = 0
    ) {
        self.peerCallID = peerCallID
        self.crcErrors = crcErrors
        self.framingErrors = framingErrors
        self.hardwareOverruns = hardwareOverruns
        self.bufferOverruns = bufferOverruns
        self.timeoutErrors = timeoutErrors
        self.alignmentErrors = alignmentErrors
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        peerCallID = try body.readWire()
        try body.skipReserved(2)
        crcErrors = try body.readWire()
        framingErrors = try body.readWire()
        hardwareOverruns = try body.readWire()
        bufferOverruns = try body.readWire()
        timeoutErrors = try body.readWire()
        alignmentErrors = try body.readWire()
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(peerCallID)
        buffer.writeZeros(2)
        buffer.writeInteger(crcErrors)
        buffer.writeInteger(framingErrors)
        buffer.writeInteger(hardwareOverruns)
        buffer.writeInteger(bufferOverruns)
        buffer.writeInteger(timeoutErrors)
        buffer.writeInteger(alignmentErrors)
    }
}

/// Set-Link-Info, RFC 2637 §2.15 (24 octets): PNS to PAC, the PPP-negotiated ACCMs.
public struct SetLinkInfo: ControlMessageBody {
    public static let messageType = ControlMessageType.setLinkInfo

    public var peerCallID: UInt16
    public var sendACCM: UInt32
    public var receiveACCM: UInt32

    public init(peerCallID: UInt16, sendACCM: UInt32 = 0xFFFF_FFFF, receiveACCM: UInt32 = 0xFFFF_FFFF) {
        self.peerCallID = peerCallID
        self.sendACCM = sendACCM
        self.receiveACCM = receiveACCM
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        peerCallID = try body.readWire()
        try body.skipReserved(2)
        sendACCM = try body.readWire()
        receiveACCM = try body.readWire()
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(peerCallID)
        buffer.writeZeros(2)
        buffer.writeInteger(sendACCM)
        buffer.writeInteger(receiveACCM)
    }
}

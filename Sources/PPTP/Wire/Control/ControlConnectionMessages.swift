import NIOCore

/// Start-Control-Connection-Request, RFC 2637 §2.1 (156 octets). Sent by PNS or PAC to open
/// the control connection.
public struct StartControlConnectionRequest: ControlMessageBody {
    public static let messageType = ControlMessageType.startControlConnectionRequest

    /// Protocol version, major in the high octet: 0x0100 for RFC 2637.
    public var protocolVersion: UInt16
    public var framingCapabilities: FramingCapabilities
    public var bearerCapabilities: BearerCapabilities
    /// Total number of individual PPP sessions the PAC can support (ignored when sent by a PNS).
    public var maximumChannels: UInt16
    public var firmwareRevision: UInt16
    /// DNS name of the sender, 64 octets.
    public var hostName: FixedWidthString
    /// Vendor-specific string, 64 octets.
    public var vendor: FixedWidthString

    public init(
        protocolVersion: UInt16 = 0x0100,
        framingCapabilities: FramingCapabilities = [.asynchronous, .synchronous],
        bearerCapabilities: BearerCapabilities = [.analog, .digital],
        maximumChannels: UInt16 = 0,
        firmwareRevision: UInt16 = 0,
        hostName: String = "",
        vendor: String = ""
    ) {
        self.protocolVersion = protocolVersion
        self.framingCapabilities = framingCapabilities
        self.bearerCapabilities = bearerCapabilities
        self.maximumChannels = maximumChannels
        self.firmwareRevision = firmwareRevision
        self.hostName = FixedWidthString(hostName, width: 64)
        self.vendor = FixedWidthString(vendor, width: 64)
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        protocolVersion = try body.readWire()
        try body.skipReserved(2)  // Reserved1
        framingCapabilities = FramingCapabilities(rawValue: try body.readWire())
        bearerCapabilities = BearerCapabilities(rawValue: try body.readWire())
        maximumChannels = try body.readWire()
        firmwareRevision = try body.readWire()
        hostName = try .read(from: &body, width: 64)
        vendor = try .read(from: &body, width: 64)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(protocolVersion)
        buffer.writeZeros(2)
        buffer.writeInteger(framingCapabilities.rawValue)
        buffer.writeInteger(bearerCapabilities.rawValue)
        buffer.writeInteger(maximumChannels)
        buffer.writeInteger(firmwareRevision)
        hostName.write(to: &buffer)
        vendor.write(to: &buffer)
    }
}

/// Start-Control-Connection-Reply, RFC 2637 §2.2 (156 octets).
public struct StartControlConnectionReply: ControlMessageBody {
    public static let messageType = ControlMessageType.startControlConnectionReply

    public var protocolVersion: UInt16
    public var resultCode: StartControlConnectionResult
    /// Set only when `resultCode` is `.generalError` (RFC 2637 §2.2).
    public var errorCode: GeneralErrorCode
    public var framingCapabilities: FramingCapabilities
    public var bearerCapabilities: BearerCapabilities
    public var maximumChannels: UInt16
    public var firmwareRevision: UInt16
    public var hostName: FixedWidthString
    public var vendor: FixedWidthString

    public init(
        protocolVersion: UInt16 = 0x0100,
        resultCode: StartControlConnectionResult = .success,
        errorCode: GeneralErrorCode = .none,
        framingCapabilities: FramingCapabilities = [.asynchronous, .synchronous],
        bearerCapabilities: BearerCapabilities = [.analog, .digital],
        maximumChannels: UInt16 = 0,
        firmwareRevision: UInt16 = 0,
        hostName: String = "",
        vendor: String = ""
    ) {
        self.protocolVersion = protocolVersion
        self.resultCode = resultCode
        self.errorCode = errorCode
        self.framingCapabilities = framingCapabilities
        self.bearerCapabilities = bearerCapabilities
        self.maximumChannels = maximumChannels
        self.firmwareRevision = firmwareRevision
        self.hostName = FixedWidthString(hostName, width: 64)
        self.vendor = FixedWidthString(vendor, width: 64)
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        protocolVersion = try body.readWire()
        resultCode = .init(rawValue: try body.readWire())
        errorCode = .init(rawValue: try body.readWire())
        framingCapabilities = FramingCapabilities(rawValue: try body.readWire())
        bearerCapabilities = BearerCapabilities(rawValue: try body.readWire())
        maximumChannels = try body.readWire()
        firmwareRevision = try body.readWire()
        hostName = try .read(from: &body, width: 64)
        vendor = try .read(from: &body, width: 64)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(protocolVersion)
        buffer.writeInteger(resultCode.rawValue)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeInteger(framingCapabilities.rawValue)
        buffer.writeInteger(bearerCapabilities.rawValue)
        buffer.writeInteger(maximumChannels)
        buffer.writeInteger(firmwareRevision)
        hostName.write(to: &buffer)
        vendor.write(to: &buffer)
    }
}

/// Stop-Control-Connection-Request, RFC 2637 §2.3 (16 octets).
public struct StopControlConnectionRequest: ControlMessageBody {
    public static let messageType = ControlMessageType.stopControlConnectionRequest

    public var reason: StopControlConnectionReason

    public init(reason: StopControlConnectionReason = .none) { self.reason = reason }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        reason = .init(rawValue: try body.readWire())
        try body.skipReserved(3)  // Reserved1 (1), Reserved2 (2)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(reason.rawValue)
        buffer.writeZeros(3)
    }
}

/// Stop-Control-Connection-Reply, RFC 2637 §2.4 (16 octets).
public struct StopControlConnectionReply: ControlMessageBody {
    public static let messageType = ControlMessageType.stopControlConnectionReply

    public var resultCode: GeneralResult
    public var errorCode: GeneralErrorCode

    public init(resultCode: GeneralResult = .ok, errorCode: GeneralErrorCode = .none) {
        self.resultCode = resultCode
        self.errorCode = errorCode
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        resultCode = .init(rawValue: try body.readWire())
        errorCode = .init(rawValue: try body.readWire())
        try body.skipReserved(2)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(resultCode.rawValue)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeZeros(2)
    }
}

/// Echo-Request, RFC 2637 §2.5 (16 octets): a keep-alive for the control connection.
public struct EchoRequest: ControlMessageBody {
    public static let messageType = ControlMessageType.echoRequest

    /// Set by the sender and echoed in the reply, to match them.
    public var identifier: UInt32

    public init(identifier: UInt32) { self.identifier = identifier }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        identifier = try body.readWire()
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(identifier)
    }
}

/// Echo-Reply, RFC 2637 §2.6 (20 octets).
public struct EchoReply: ControlMessageBody {
    public static let messageType = ControlMessageType.echoReply

    public var identifier: UInt32
    public var resultCode: GeneralResult
    public var errorCode: GeneralErrorCode

    public init(identifier: UInt32, resultCode: GeneralResult = .ok, errorCode: GeneralErrorCode = .none) {
        self.identifier = identifier
        self.resultCode = resultCode
        self.errorCode = errorCode
    }

    public init(parsing body: inout ByteBuffer) throws(PPTPWireError) {
        identifier = try body.readWire()
        resultCode = .init(rawValue: try body.readWire())
        errorCode = .init(rawValue: try body.readWire())
        try body.skipReserved(2)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(identifier)
        buffer.writeInteger(resultCode.rawValue)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeZeros(2)
    }
}

import NIOCore

/// One line about an IP packet found inside PPP, in the manner of tcpdump:
/// `IPv4 203.0.113.11 > 203.0.113.1 ICMP echo request id=0x011f seq=1 length 64`.
struct InnerPacketSummary: Hashable, Sendable {
    /// The line.
    var text: String
    /// Whether the packet is a well-formed IPv4 packet (or an IPv6 packet) whose length fits; for IPv4 also
    /// whether its header checksum is right (RFC 791 §3.1).
    var isValid: Bool

    /// Describes an IPv4 packet (RFC 791), with ICMP (RFC 792), TCP (RFC 9293) and UDP (RFC 768) details.
    static func ipv4(_ bytes: [UInt8]) -> InnerPacketSummary {
        let packet: IPv4Packet
        do {
            packet = try IPv4Packet(parsing: ByteBuffer(bytes: bytes))
        } catch {
            return InnerPacketSummary(
                text: "IPv4 (malformed: \(error.explanation), \(bytes.count) octets)",
                isValid: false
            )
        }
        let header = packet.header
        var text = "IPv4 "
        if header.isFragment && header.fragmentOffset != 0 {
            text +=
                "\(header.source) > \(header.destination) \(header.payloadProtocol) fragment id=0x\(hex(header.identification, 4))"
            text += " offset=\(header.fragmentOffset) length \(header.totalLength - header.headerLength)"
        } else {
            text += transport(
                header.payloadProtocol,
                source: header.source,
                destination: header.destination,
                payload: packet.payload
            )
            if header.isFragment { text += " (first fragment id=0x\(hex(header.identification, 4)))" }
        }
        if !packet.hasValidChecksum {
            text +=
                " (BAD IPv4 header checksum 0x\(hex(header.headerChecksum, 4)), should be 0x\(hex(packet.computedChecksum, 4)))"
        }
        return InnerPacketSummary(text: text, isValid: packet.hasValidChecksum && header.totalLength == bytes.count)
    }

    /// Describes an IPv6 packet (RFC 8200).
    static func ipv6(_ bytes: [UInt8]) -> InnerPacketSummary {
        do {
            let packet = try IPv6Packet(parsing: ByteBuffer(bytes: bytes))
            let text =
                "IPv6 "
                + transport(
                    packet.payloadProtocol,
                    source: packet.source,
                    destination: packet.destination,
                    payload: packet.payload
                )
            return InnerPacketSummary(text: text, isValid: true)
        } catch {
            return InnerPacketSummary(
                text: "IPv6 (malformed: \(error.explanation), \(bytes.count) octets)",
                isValid: false
            )
        }
    }

    private static func transport(
        _ proto: IPProtocol,
        source: IPAddress,
        destination: IPAddress,
        payload: ByteBuffer
    ) -> String {
        switch proto {
        case .icmp, .icmpv6:
            var reader = payload
            guard let (type, code, _) = reader.readMultipleIntegers(as: (UInt8, UInt8, UInt16).self) else {
                return "\(source) > \(destination) \(proto) (truncated)"
            }
            let isV6 = proto == .icmpv6
            var text = "\(source) > \(destination) \(proto) "
            switch (isV6, type) {
            case (false, 8), (false, 0), (true, 128), (true, 129):
                let request = type == 8 || type == 128
                let (identifier, sequence) = reader.readMultipleIntegers(as: (UInt16, UInt16).self) ?? (0, 0)
                text += request ? "echo request" : "echo reply"
                text += " id=0x\(hex(identifier, 4)) seq=\(sequence) length \(payload.readableBytes)"
            case (false, 3): text += "destination unreachable code \(code)"
            case (false, 11): text += "time exceeded code \(code)"
            default: text += "type \(type) code \(code) length \(payload.readableBytes)"
            }
            return text
        case .tcp:
            guard let segment = try? TCPSegment(parsing: payload) else {
                return "\(source) > \(destination) TCP (truncated, \(payload.readableBytes) octets)"
            }
            var flags = ""
            if segment.flags.contains(.syn) { flags += "S" }
            if segment.flags.contains(.fin) { flags += "F" }
            if segment.flags.contains(.rst) { flags += "R" }
            if segment.flags.contains(.psh) { flags += "P" }
            if segment.flags.contains(.ack) { flags += "." }
            var text = "\(source):\(segment.sourcePort) > \(destination):\(segment.destinationPort) TCP [\(flags)]"
            text += " seq=\(segment.sequenceNumber)"
            if segment.flags.contains(.ack) { text += " ack=\(segment.acknowledgmentNumber)" }
            text += " win=\(segment.window) length \(segment.payload.readableBytes)"
            return text
        case .udp:
            var reader = payload
            guard
                let (sourcePort, destinationPort, length, _) = reader.readMultipleIntegers(
                    as: (UInt16, UInt16, UInt16, UInt16).self
                )
            else {
                return "\(source) > \(destination) UDP (truncated)"
            }
            return "\(source):\(sourcePort) > \(destination):\(destinationPort) UDP length \(Int(length) - 8)"
        default:
            return "\(source) > \(destination) \(proto) length \(payload.readableBytes)"
        }
    }
}

/// Zero-padded lower-case hexadecimal.
func hex<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Seconds with a fixed number of decimals, without Foundation: `1.500000`.
func formatSeconds(_ value: Double, decimals: Int = 6) -> String {
    guard value.isFinite else { return "?" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let negative = value < 0
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e15 else { return negative ? "-∞" : "∞" }
    let total = Int64(scaled)
    let whole = total / Int64(scale)
    let fraction = total % Int64(scale)
    var text = (negative ? "-" : "") + String(whole)
    if decimals > 0 {
        let digits = String(fraction)
        text += "." + String(repeating: "0", count: decimals - digits.count) + digits
    }
    return text
}

extension CaptureTimestamp {
    /// Seconds from `start` to `self` as a `Double`.
    func seconds(since start: CaptureTimestamp) -> Double {
        Double(seconds &- start.seconds) + (Double(nanoseconds) - Double(start.nanoseconds)) / 1e9
    }
}

extension CaptureTimestamp: Codable {
    /// Encoded as the exact text `seconds.nanoseconds`, e.g. `"1795741697.880360000"`.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        let parts = text.split(separator: ".", maxSplits: 1)
        guard let seconds = parts.first.flatMap({ Int64($0) }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad timestamp"))
        }
        var nanoseconds: UInt32 = 0
        if parts.count == 2 {
            let digits = String(parts[1].prefix(9))
            nanoseconds = (UInt32(digits) ?? 0) * UInt32(Self.pow10(9 - digits.count))
        }
        self.init(seconds: seconds, nanoseconds: nanoseconds)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func pow10(_ exponent: Int) -> Int {
        var value = 1
        for _ in 0..<max(exponent, 0) { value *= 10 }
        return value
    }
}

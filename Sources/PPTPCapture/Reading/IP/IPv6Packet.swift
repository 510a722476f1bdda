import NIOCore

/// The Fragment header of an IPv6 packet (RFC 8200 §4.5).
public struct IPv6FragmentHeader: Hashable, Sendable {
    /// The Next Header of the fragmentable part (the upper-layer protocol, or a further extension header).
    public var nextHeader: IPProtocol
    /// Fragment Offset in octets (the field counts 8-octet units).
    public var offset: Int
    /// The M flag: more fragments follow.
    public var moreFragments: Bool
    /// Identification, shared by the fragments of one packet.
    public var identification: UInt32
}

/// An IPv6 packet with its extension headers walked (RFC 8200 §4) up to the upper-layer header, or up to a
/// Fragment header.
public struct IPv6Packet: Hashable, Sendable {
    /// The most extension headers walked in one packet; more is treated as malformed.
    public static let maximumExtensionHeaders = 32

    /// Source address.
    public var source: IPAddress
    /// Destination address.
    public var destination: IPAddress
    /// Hop Limit.
    public var hopLimit: UInt8
    /// The extension headers walked, in order.
    public var extensionHeaders: [IPProtocol]
    /// The upper-layer protocol, or, for a fragment, the Fragment header's Next Header.
    public var payloadProtocol: IPProtocol
    /// The upper-layer data, or, for a fragment, the fragment's data (cut to Payload Length).
    public var payload: ByteBuffer
    /// The Fragment header when this packet is a fragment of a larger one. An atomic fragment (offset 0, M clear,
    /// RFC 6946) is not reported here: its data is the whole packet and is walked like any other.
    public var fragment: IPv6FragmentHeader?

    /// Parses `packet`, which starts with the version nibble.
    public init(parsing packet: ByteBuffer) throws(CaptureError) {
        var bytes = packet
        let available = bytes.readableBytes
        guard
            let (
                versionClassFlow, payloadLength, nextHeader, hopLimit, sourceHigh, sourceLow, destinationHigh,
                destinationLow
            ) = bytes.readMultipleIntegers(
                as: (UInt32, UInt16, UInt8, UInt8, UInt64, UInt64, UInt64, UInt64).self
            )
        else {
            throw .truncatedIPHeader(needed: 40, available: available)
        }
        guard versionClassFlow >> 28 == 6 else {
            throw .badIPVersion(UInt8(truncatingIfNeeded: versionClassFlow >> 28))
        }
        if payloadLength == 0, nextHeader == IPProtocol.hopByHopOptions.rawValue {
            throw .unsupportedIPv6Jumbogram
        }
        guard Int(payloadLength) <= bytes.readableBytes else {
            throw .ipLengthOutOfRange(claimed: Int(payloadLength) + 40, headerLength: 40, available: available)
        }
        // Link-layer padding after Payload Length is dropped.
        var rest = bytes.readSlice(length: Int(payloadLength)) ?? ByteBuffer()
        source = .v6(high: sourceHigh, low: sourceLow)
        destination = .v6(high: destinationHigh, low: destinationLow)
        self.hopLimit = hopLimit
        var walked: [IPProtocol] = []
        let (upper, fragment) = try Self.walkExtensionHeaders(
            from: IPProtocol(rawValue: nextHeader),
            &rest,
            walked: &walked,
            allowFragmentHeader: true
        )
        extensionHeaders = walked
        payloadProtocol = fragment?.nextHeader ?? upper
        self.fragment = fragment
        payload = rest
    }

    /// `true` for the Next Header values that this walker skips as extension headers with the common
    /// "Next Header, Hdr Ext Len" layout (RFC 8200 §4.3, §4.4, §4.6; RFC 4302 AH; RFC 6275; RFC 7401; RFC 5533).
    static func isSkippableExtension(_ value: IPProtocol) -> Bool {
        switch value {
        case .hopByHopOptions, .routing, .destinationOptions, .authenticationHeader, .mobility, .hostIdentity,
            .shim6:
            true
        default:
            false
        }
    }

    /// Walks extension headers starting with `first`, consuming them from `buffer`.
    ///
    /// Stops at the first upper-layer header (returned), at a non-atomic Fragment header (returned as the second
    /// element; `buffer` then holds the fragment data) or at ESP / No Next Header.
    static func walkExtensionHeaders(
        from first: IPProtocol,
        _ buffer: inout ByteBuffer,
        walked: inout [IPProtocol],
        allowFragmentHeader: Bool
    ) throws(CaptureError) -> (IPProtocol, IPv6FragmentHeader?) {
        var next = first
        // Each step consumes at least 8 octets or returns, and the count is capped, so this loop ends.
        while true {
            if next == .fragment {
                guard allowFragmentHeader else { throw .nestedIPv6FragmentHeader }
                guard
                    let (fragmentNext, _, offsetAndFlags, identification) = buffer.readMultipleIntegers(
                        as: (UInt8, UInt8, UInt16, UInt32).self
                    )
                else {
                    throw .truncatedIPv6ExtensionHeader(
                        nextHeader: next.rawValue,
                        needed: 8,
                        available: buffer.readableBytes
                    )
                }
                walked.append(next)
                let header = IPv6FragmentHeader(
                    nextHeader: IPProtocol(rawValue: fragmentNext),
                    offset: Int(offsetAndFlags >> 3) * 8,
                    moreFragments: offsetAndFlags & 1 != 0,
                    identification: identification
                )
                guard header.offset == 0, !header.moreFragments else { return (next, header) }
                // RFC 6946 §4: an atomic fragment is processed as a whole packet, without reassembly.
                next = header.nextHeader
            } else if isSkippableExtension(next) {
                guard
                    let (headerNext, lengthField) = buffer.getMultipleIntegers(
                        at: buffer.readerIndex,
                        as: (UInt8, UInt8).self
                    )
                else {
                    throw .truncatedIPv6ExtensionHeader(
                        nextHeader: next.rawValue,
                        needed: 2,
                        available: buffer.readableBytes
                    )
                }
                // Hdr Ext Len counts 8-octet units after the first 8; AH counts 4-octet units after the first 8
                // (RFC 4302 §2.2).
                let length = next == .authenticationHeader ? (Int(lengthField) + 2) * 4 : (Int(lengthField) + 1) * 8
                guard buffer.readableBytes >= length else {
                    throw .truncatedIPv6ExtensionHeader(
                        nextHeader: next.rawValue,
                        needed: length,
                        available: buffer.readableBytes
                    )
                }
                buffer.moveReaderIndex(forwardBy: length)
                walked.append(next)
                next = IPProtocol(rawValue: headerNext)
            } else {
                return (next, nil)
            }
            if walked.count > maximumExtensionHeaders {
                throw .tooManyIPv6ExtensionHeaders(count: walked.count)
            }
        }
    }
}

import NIOCore

/// What a frame carries once its link-layer header has been removed.
public enum LinkPayload: Hashable, Sendable {
    /// An IPv4 packet (from its first header octet to the end of the captured frame).
    case ipv4(ByteBuffer)
    /// An IPv6 packet (from its first header octet to the end of the captured frame).
    case ipv6(ByteBuffer)
    /// A frame of another network protocol, such as ARP, named by its EtherType (for an IEEE 802.3 frame without
    /// SNAP, the Length field).
    case notIP(EtherType)
    /// A BSD loopback frame whose address family is neither IPv4 nor IPv6.
    case unknownAddressFamily(UInt32)
    /// A link-layer header type this reader does not decode.
    case unsupportedLinkType(LinkType)
}

/// Link-layer decapsulation for the header types found in PPTP captures.
public enum LinkLayer {
    /// The largest number of stacked 802.1Q / 802.1ad tags accepted in front of the EtherType.
    public static let maximumVLANTags = 8

    /// Removes the link-layer header of `data`, a frame of type `linkType`.
    ///
    /// Supports Ethernet (with 802.1Q, 802.1ad and 0x9100 tags, and 802.2 SNAP), Linux cooked captures v1 and v2,
    /// raw IP (101, 228, 229) and BSD loopback (0, 108). Throws `.truncatedLinkHeader` when the frame is shorter
    /// than its header, or `.badIPVersion` for a raw frame whose version nibble is not 4 or 6.
    public static func decapsulate(_ data: ByteBuffer, linkType: LinkType) throws(CaptureError) -> LinkPayload {
        var frame = data
        switch linkType {
        case .ethernet:
            return try ethernet(&frame)
        case .linuxSLL:
            // packet type (2), ARPHRD type (2), address length (2), address (8), protocol (2).
            guard
                let (_, _, _, _, protocolType) = frame.readMultipleIntegers(
                    as: (UInt16, UInt16, UInt16, UInt64, UInt16).self
                )
            else { throw .truncatedLinkHeader(linkType: linkType, needed: 16, available: frame.readableBytes) }
            return classify(EtherType(rawValue: protocolType), frame)
        case .linuxSLL2:
            // protocol (2), reserved (2), interface index (4), ARPHRD type (2), packet type (1),
            // address length (1), address (8).
            guard
                let (protocolType, _, _, _, _, _, _) = frame.readMultipleIntegers(
                    as: (UInt16, UInt16, UInt32, UInt16, UInt8, UInt8, UInt64).self
                )
            else { throw .truncatedLinkHeader(linkType: linkType, needed: 20, available: frame.readableBytes) }
            return classify(EtherType(rawValue: protocolType), frame)
        case .raw:
            guard let first = frame.getInteger(at: frame.readerIndex, as: UInt8.self) else {
                throw .truncatedLinkHeader(linkType: linkType, needed: 1, available: 0)
            }
            switch first >> 4 {
            case 4: return .ipv4(frame)
            case 6: return .ipv6(frame)
            default: throw .badIPVersion(first >> 4)
            }
        case .ipv4:
            return .ipv4(frame)
        case .ipv6:
            return .ipv6(frame)
        case .null, .loop:
            // LINKTYPE_NULL: the family is in the capturing host's byte order, so a value above 0xFFFF means the
            // other order (the families are small numbers). LINKTYPE_LOOP: always big-endian.
            let endianness: Endianness = linkType == .loop ? .big : .little
            guard var family = frame.readInteger(endianness: endianness, as: UInt32.self) else {
                throw .truncatedLinkHeader(linkType: linkType, needed: 4, available: frame.readableBytes)
            }
            if linkType == .null, family > 0xFFFF { family = family.byteSwapped }
            switch family {
            case 2: return .ipv4(frame)
            case 10, 24, 28, 30: return .ipv6(frame)  // AF_INET6 on Linux, Net/OpenBSD, FreeBSD, Darwin.
            default: return .unknownAddressFamily(family)
            }
        default:
            return .unsupportedLinkType(linkType)
        }
    }

    /// IEEE 802.3 MAC header, optional VLAN tags (IEEE 802.1Q §9.6), optional 802.2 LLC/SNAP (RFC 1042).
    private static func ethernet(_ frame: inout ByteBuffer) throws(CaptureError) -> LinkPayload {
        guard let (_, _, _, firstType) = frame.readMultipleIntegers(as: (UInt32, UInt32, UInt32, UInt16).self) else {
            throw .truncatedLinkHeader(linkType: .ethernet, needed: 14, available: frame.readableBytes)
        }
        var type = EtherType(rawValue: firstType)
        var headerLength = 14
        var tags = 0
        while type == .vlan || type == .serviceVLAN || type == .legacyQinQ, tags < maximumVLANTags {
            // Tag Control Information (2), then the next Length/Type (2).
            guard let (_, next) = frame.readMultipleIntegers(as: (UInt16, UInt16).self) else {
                throw .truncatedLinkHeader(
                    linkType: .ethernet,
                    needed: headerLength + 4,
                    available: headerLength + frame.readableBytes
                )
            }
            type = EtherType(rawValue: next)
            headerLength += 4
            tags += 1
        }
        if type.rawValue <= 1500 {
            // An 802.3 Length field: IP travels in SNAP with OUI 0 (RFC 1042): AA AA 03 00 00 00 type.
            if let (saps, controlAndOUI, snapType) = frame.peekMultipleIntegers(as: (UInt16, UInt32, UInt16).self),
                saps == 0xAAAA, controlAndOUI == 0x0300_0000
            {
                frame.moveReaderIndex(forwardBy: 8)
                return classify(EtherType(rawValue: snapType), frame)
            }
            return .notIP(type)
        }
        return classify(type, frame)
    }

    private static func classify(_ type: EtherType, _ payload: ByteBuffer) -> LinkPayload {
        switch type {
        case .ipv4: .ipv4(payload)
        case .ipv6: .ipv6(payload)
        default: .notIP(type)
        }
    }
}

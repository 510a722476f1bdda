import MSCrypto
import PPP
import PPTP

extension CaptureError {
    /// The error in plain words with its numbers, for reports.
    public var explanation: String {
        switch self {
        case .truncatedFileHeader(let needed, let available):
            "the file is too short for a capture file header (\(available) of \(needed) octets)"
        case .unknownFileFormat(let magic):
            "not a pcap or pcapng file (first four octets 0x\(hex(magic, 8)))"
        case .unsupportedPcapVersion(let major, let minor):
            "pcap version \(major).\(minor) is not supported (only 2.x)"
        case .truncatedRecordHeader(let frame, let offset, let needed, let available):
            "the file ends inside the record header of frame \(frame) at offset \(offset) (\(available) of \(needed) octets): the capture was cut short"
        case .truncatedRecordData(let frame, let offset, let needed, let available):
            "the file ends inside frame \(frame) at offset \(offset) (\(available) of \(needed) octets): the capture was cut short"
        case .recordTooLarge(let frame, let offset, let length):
            "frame \(frame) at offset \(offset) claims \(length) octets, more than any real frame: the file is corrupt from there on"
        case .truncatedBlock(let offset, let needed, let available):
            "the file ends inside a pcapng block at offset \(offset) (\(available) of \(needed) octets): the capture was cut short"
        case .invalidBlockLength(let offset, let blockType, let length):
            "pcapng block of type 0x\(hex(blockType, 8)) at offset \(offset) has an impossible length \(length): the file is corrupt from there on"
        case .blockLengthMismatch(let offset, let leading, let trailing):
            "pcapng block at offset \(offset) has length \(leading) at its start but \(trailing) at its end: the file is corrupt from there on"
        case .badByteOrderMagic(let offset, let magic):
            "pcapng section header at offset \(offset) has byte-order magic 0x\(hex(magic, 8))"
        case .unsupportedSectionVersion(let offset, let major, let minor):
            "pcapng section at offset \(offset) has version \(major).\(minor) (only 1.x)"
        case .unknownInterface(let offset, let interfaceID):
            "pcapng packet at offset \(offset) names interface \(interfaceID), which was never described"
        case .malformedOption(let offset, let code, let length):
            "pcapng option \(code) of length \(length) at offset \(offset) runs past its block"
        case .truncatedLinkHeader(let linkType, let needed, let available):
            "frame shorter than its \(linkType) header (\(available) of \(needed) octets)"
        case .truncatedIPHeader(let needed, let available):
            "IP header truncated (\(available) of \(needed) octets)"
        case .badIPVersion(let version):
            "IP version \(version)"
        case .badIPv4HeaderLength(let words):
            "IPv4 header length of \(words) words (at least 5)"
        case .ipLengthOutOfRange(let claimed, let headerLength, let available):
            "IP length \(claimed) does not fit (header \(headerLength), \(available) octets captured)"
        case .truncatedIPv6ExtensionHeader(let nextHeader, let needed, let available):
            "IPv6 extension header \(nextHeader) truncated (\(available) of \(needed) octets)"
        case .tooManyIPv6ExtensionHeaders(let count):
            "\(count) IPv6 extension headers"
        case .unsupportedIPv6Jumbogram:
            "IPv6 jumbogram (not supported)"
        case .nestedIPv6FragmentHeader:
            "IPv6 fragment inside a fragment"
        case .truncatedTCPHeader(let needed, let available):
            "TCP header truncated (\(available) of \(needed) octets)"
        case .badTCPDataOffset(let words):
            "TCP data offset of \(words) words (at least 5)"
        case .notRepresentableInPcap(let length, let seconds):
            "a packet of \(length) octets at time \(seconds) cannot be written to pcap"
        case .fileSystem(let errno):
            "system error \(errno) (\(Self.errnoName(errno)))"
        }
    }

    private static func errnoName(_ value: Int32) -> String {
        switch value {
        case 1: "operation not permitted"
        case 2: "no such file or directory"
        case 13: "permission denied"
        case 17: "file exists"
        case 20: "not a directory"
        case 21: "is a directory"
        case 28: "no space left on device"
        case 30: "read-only file system"
        default: "errno \(value)"
        }
    }
}

extension PPTPWireError {
    /// The error in plain words with its numbers.
    public var explanation: String {
        switch self {
        case .lengthBelowHeader(let length): "Length field \(length) is below the 12-octet header"
        case .lengthAboveMaximum(let length): "Length field \(length) is above the largest message (220)"
        case .badMagicCookie(let cookie): "Magic Cookie 0x\(hex(cookie, 8)) instead of 0x1a2b3c4d"
        case .unsupportedMessageType(let type): "PPTP Message Type \(type) (only 1, control, is used)"
        case .unknownControlMessageType(let type): "unknown Control Message Type \(type)"
        case .lengthMismatch(let type, let length, let expected): "\(type) with length \(length) instead of \(expected)"
        case .truncated(let needed, let available): "truncated (\(available) of \(needed) octets)"
        case .fieldLengthOutOfRange(let field, let maximum): "a length field of \(field), more than \(maximum)"
        case .greVersion(let version): "GRE version \(version) (PPTP uses enhanced GRE, version 1)"
        case .greProtocol(let proto): "GRE protocol 0x\(hex(proto, 4)) (PPTP carries PPP, 0x880b)"
        case .greKeyAbsent: "GRE key bit clear (RFC 2637 §4.1 requires it)"
        case .greChecksumOrRoutingPresent: "GRE checksum or routing bit set (RFC 2637 §4.1 forbids them)"
        case .greReservedFieldsSet(let flags): "GRE reserved flags set (0x\(hex(flags, 4)))"
        case .grePayloadLength(let declared, let available):
            "GRE payload length \(declared) but \(available) octets present"
        }
    }
}

extension PPPWireError {
    /// The error in plain words with its numbers.
    public var explanation: String {
        switch self {
        case .truncated(let needed, let available): "truncated (\(available) of \(needed) octets)"
        case .invalidProtocolField(let value): "invalid PPP protocol field 0x\(hex(value, 4))"
        case .packetLengthBelowHeader(let length): "packet Length \(length) below 4"
        case .packetLengthAboveFrame(let length, let available):
            "packet Length \(length) but \(available) octets in the frame"
        case .optionLength(let type, let length, let available):
            "option \(type) with length \(length) (\(available) octets left)"
        case .fieldLength(let declared, let available): "a field of \(declared) octets with \(available) left"
        case .unexpectedLength(let expected, let actual): "\(actual) octets where \(expected) are required"
        case .malformedText(let field): "malformed \(Character(Unicode.Scalar(field)))= field"
        case .badFrameCheckSequence: "bad frame check sequence"
        case .frameTooShort(let length): "frame of \(length) octets is too short"
        case .frameTooLong(let limit): "frame longer than \(limit) octets"
        case .frameAborted: "frame aborted"
        }
    }
}

extension MPPEError {
    /// The reason in plain words, as a short key for counting.
    var explanation: String {
        switch self {
        case .notEncrypted: "D bit clear (not encrypted)"
        case .flushedBitMissing: "FLUSHED bit missing in stateless mode"
        case .duplicate: "duplicate coherency count"
        case .late: "late packet whose key is no longer known"
        case .tooFarAhead: "coherency count too far ahead"
        case .lossDetected: "loss detected (stateful: waiting for a FLUSHED packet)"
        case .awaitingFlushedPacket: "discarded while waiting for a FLUSHED packet"
        case .implausiblePlaintext: "plaintext is not a plausible packet (forged, or another key)"
        }
    }
}

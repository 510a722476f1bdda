import NIOCore
import PPP
import PropertyBased
import Testing

/// Golden PPP frames from `../shared/captures/01-mschapv2-mppe128-stateless` (the GRE payloads of
/// frames 14, 15, 20, 21 and 22), checked against the pppd log beside the capture.
enum Golden {
    /// Client LCP ConfReq: `<asyncmap 0x0> <magic 0x7d27d7a> <pcomp> <accomp>`.
    static let clientLCPRequest = bytes("ff03 c021 | 01 01 0014 | 0206 00000000 | 0506 07d27d7a | 0702 | 0802")
    /// Server LCP ConfReq: `<asyncmap 0x0> <auth chap MS-v2> <magic 0x3a137395> <pcomp> <accomp>`.
    static let serverLCPRequest = bytes(
        "ff03 c021 | 01 01 0019 | 0206 00000000 | 0305 c223 81 | 0506 3a137395 | 0702 | 0802"
    )
    /// Client MS-CHAPv2 Response, sent with ACFC (no FF 03), name "alice".
    static let chapResponse = bytes(
        "c223 02 40 003b 31 2ead235b996893cee6da607f3eb3f473 0000000000000000"
            + "7f3f41ea2a4876ff83a0608bd53184f4553527ce1ad6fec3 00 616c696365"
    )
    /// Server CCP ConfReq `<mppe +H -M +S -L -D -C>`.
    static let ccpRequest = bytes("80fd 01 01 000a 1206 01000040")
}

@Suite struct PPPFrameTests {
    @Test func parsesUncompressedHeader() throws {
        let frame = try PPPFrame(parsing: ByteBuffer(bytes: Golden.clientLCPRequest))
        #expect(
            frame.header
                == PPPFrameHeader(protocolNumber: .lcp, hasAddressAndControl: true, isProtocolCompressed: false)
        )
        #expect(frame.information.readableBytes == 20)
    }

    @Test func parsesHeaderWithoutAddressAndControl() throws {
        let frame = try PPPFrame(parsing: ByteBuffer(bytes: Golden.chapResponse))
        #expect(
            frame.header
                == PPPFrameHeader(protocolNumber: .chap, hasAddressAndControl: false, isProtocolCompressed: false)
        )
    }

    @Test func parsesCompressedProtocolField() throws {
        // MPPE data frame with PFC and ACFC: protocol 0xFD in one octet.
        let frame = try PPPFrame(parsing: ByteBuffer(bytes: [0xFD, 0x90, 0x00, 0xAA]))
        #expect(
            frame.header
                == PPPFrameHeader(
                    protocolNumber: .compressedDatagram,
                    hasAddressAndControl: false,
                    isProtocolCompressed: true
                )
        )
        #expect(frame.information.allBytes == [0x90, 0x00, 0xAA])
    }

    @Test func rejectsProtocolWithEvenLowOctet() {
        #expect(throws: PPPWireError.invalidProtocolField(0xC020)) {
            try PPPFrame(parsing: ByteBuffer(bytes: [0xC0, 0x20, 0]))
        }
    }

    @Test func rejectsEmptyFrames() {
        #expect(throws: PPPWireError.self) { try PPPFrame(parsing: ByteBuffer(bytes: [])) }
        #expect(throws: PPPWireError.self) { try PPPFrame(parsing: ByteBuffer(bytes: [0xFF, 0x03])) }
        #expect(throws: PPPWireError.self) { try PPPFrame(parsing: ByteBuffer(bytes: [0xFF, 0x03, 0xC0])) }
    }

    @Test func writesEveryHeaderForm() {
        let cases: [(PPPFrameHeader, [UInt8])] = [
            (.sending(.ipv4, addressControlCompressed: false, protocolCompressed: false), [0xFF, 0x03, 0x00, 0x21]),
            (.sending(.ipv4, addressControlCompressed: true, protocolCompressed: false), [0x00, 0x21]),
            (.sending(.ipv4, addressControlCompressed: true, protocolCompressed: true), [0x21]),
            // PFC never applies to protocols ≥ 0x100 (RFC 1661 §6.5).
            (.sending(.lcp, addressControlCompressed: true, protocolCompressed: true), [0xC0, 0x21]),
        ]
        for (header, expected) in cases {
            var buffer = ByteBuffer()
            header.write(to: &buffer)
            #expect(buffer.allBytes == expected)
            #expect(header.encodedLength == expected.count)
        }
    }

    @Test func arbitraryBytesNeverTrap() async {
        await propertyCheck(count: 1000, input: Gen.uint8(in: 0...255).array(of: 0...12)) { junk in
            _ = try? PPPFrame(parsing: ByteBuffer(bytes: junk))
        }
    }
}

@Suite struct ControlPacketTests {
    @Test func parsesLCPConfigureRequestFromCapture() throws {
        let frame = try PPPFrame(parsing: ByteBuffer(bytes: Golden.serverLCPRequest))
        let packet = try ControlPacket(parsing: frame.information)
        #expect(packet.code == .configureRequest)
        #expect(packet.identifier == 1)
        let message = try LCPMessage(packet)
        #expect(
            message
                == .configureRequest([
                    .asyncControlCharacterMap(0), .authenticationProtocol(.msCHAPv2), .magicNumber(0x3A13_7395),
                    .protocolFieldCompression, .addressAndControlFieldCompression,
                ])
        )
        // The line the server's pppd logged for this packet.
        #expect(
            message.logDescription(identifier: 1)
                == "LCP ConfReq id=0x1 <asyncmap 0x0> <auth chap MS-v2> <magic 0x3a137395> <pcomp> <accomp>"
        )
        #expect(message.packet(identifier: 1).bytes == Array(Golden.serverLCPRequest.dropFirst(4)))
    }

    @Test func parsesCCPMPPEOption() throws {
        let frame = try PPPFrame(parsing: ByteBuffer(bytes: Golden.ccpRequest))
        let message = try CCPMessage(ControlPacket(parsing: frame.information))
        #expect(message == .configureRequest([.mppe([.stateless, .bits128])]))
        #expect(message.logDescription(identifier: 1) == "CCP ConfReq id=0x1 <mppe +H -M +S -L -D -C>")
    }

    @Test func ignoresPaddingBeyondTheLengthField() throws {
        let packet = try ControlPacket(parsing: bytes("09 07 0008 11223344 | 0000 0000"))
        #expect(packet.data == [0x11, 0x22, 0x33, 0x44])
    }

    @Test func rejectsLengthBelowHeader() {
        #expect(throws: PPPWireError.packetLengthBelowHeader(3)) { try ControlPacket(parsing: bytes("01 01 0003")) }
    }

    @Test func rejectsLengthBeyondTheFrame() {
        #expect(throws: PPPWireError.packetLengthAboveFrame(length: 9, available: 8)) {
            try ControlPacket(parsing: bytes("01 01 0009 01040000"))
        }
    }

    @Test func rejectsEveryTruncationOfACapturedPacket() throws {
        let octets = Array(Golden.serverLCPRequest.dropFirst(4))
        for cut in 0..<octets.count {
            #expect(throws: PPPWireError.self) { try ControlPacket(parsing: Array(octets[..<cut])) }
        }
    }

    @Test func rejectsOptionRunningPastThePacket() {
        #expect(throws: PPPWireError.optionLength(type: 1, length: 4, available: 3)) {
            try LCPMessage(ControlPacket(code: .configureRequest, identifier: 1, data: [1, 4, 5]))
        }
        #expect(throws: PPPWireError.optionLength(type: 7, length: 1, available: 2)) {
            try LCPMessage(ControlPacket(code: .configureRequest, identifier: 1, data: [7, 1]))
        }
    }

    @Test func keepsUnknownAndMalformedOptionsRaw() throws {
        // Windows' BACP Link Discriminator (type 23) and an MRU with a 3-octet value.
        let message = try LCPMessage(
            ControlPacket(code: .configureRequest, identifier: 1, data: [23, 4, 0, 1, 1, 5, 5, 0xDC, 0])
        )
        #expect(
            message
                == .configureRequest([
                    .other(.init(type: 23, data: [0, 1])), .other(.init(type: 1, data: [5, 0xDC, 0])),
                ])
        )
    }

    @Test func parsesWindowsServerLCPOptions() throws {
        // RRAS: <mru 1400> <auth eap> <magic> <pcomp> <accomp> <callback CBCP> <mrru 1614> <endpoint>.
        let endpoint: [UInt8] = [1] + Array(repeating: 0xAB, count: 20)
        let options: [LCPOption] = [
            .maximumReceiveUnit(1400), .authenticationProtocol(.eap), .magicNumber(1), .protocolFieldCompression,
            .addressAndControlFieldCompression, .callback(operation: 6, message: []), .multilinkMRRU(1614),
            .endpointDiscriminator(class: 1, address: Array(endpoint.dropFirst())),
        ]
        let packet = LCPMessage.configureRequest(options).packet(identifier: 9)
        #expect(try LCPMessage(ControlPacket(parsing: packet.bytes)) == .configureRequest(options))
    }

    @Test func parsesEveryLCPCode() throws {
        let cases: [(ControlPacket, LCPMessage)] = [
            (
                .init(code: .terminateRequest, identifier: 2, data: Array("MPPE disabled".utf8)),
                .terminateRequest(Array("MPPE disabled".utf8))
            ),
            (.init(code: .terminateAck, identifier: 2), .terminateAck([])),
            (.init(code: .codeReject, identifier: 3, data: [0x20, 1, 0, 4]), .codeReject([0x20, 1, 0, 4])),
            (
                .init(code: .protocolReject, identifier: 2, data: [0x80, 0x57, 1, 1]),
                .protocolReject(.ipv6cp, information: [1, 1])
            ),
            (.init(code: .echoRequest, identifier: 4, data: [0, 0, 0, 1, 9]), .echoRequest(magic: 1, data: [9])),
            (.init(code: .echoReply, identifier: 4, data: [0, 0, 0, 2]), .echoReply(magic: 2, data: [])),
            (.init(code: .discardRequest, identifier: 5, data: [0, 0, 0, 3]), .discardRequest(magic: 3, data: [])),
            (
                .init(code: .identification, identifier: 6, data: [0, 0, 0, 4] + Array("MSRASV5.00".utf8)),
                .identification(magic: 4, message: Array("MSRASV5.00".utf8))
            ),
            (
                .init(code: .timeRemaining, identifier: 7, data: [0, 0, 0, 5, 0, 0, 0, 60]),
                .timeRemaining(magic: 5, seconds: 60, message: [])
            ),
            (.init(code: .init(99), identifier: 8, data: [1]), .unknown(.init(99), data: [1])),
            // Reset-Request is CCP's; in LCP it is an unknown code (to be Code-Rejected).
            (.init(code: .resetRequest, identifier: 9), .unknown(.resetRequest, data: [])),
        ]
        for (packet, expected) in cases {
            let parsed = try LCPMessage(packet)
            #expect(parsed == expected)
            #expect(parsed.packet(identifier: packet.identifier) == packet)
        }
    }

    @Test func ipcpCodesAboveSevenAreUnknown() throws {
        #expect(
            try IPCPMessage(.init(code: .echoRequest, identifier: 1, data: [0, 0, 0, 0]))
                == .unknown(.echoRequest, data: [0, 0, 0, 0])
        )
        #expect(try CCPMessage(.init(code: .resetRequest, identifier: 1)) == .resetRequest([]))
    }

    @Test func rejectsShortEcho() {
        #expect(throws: PPPWireError.truncated(needed: 4, available: 2)) {
            try LCPMessage(ControlPacket(code: .echoRequest, identifier: 1, data: [0, 0]))
        }
    }

    @Test func parsesIPCPOptionsOfWindowsAndPppd() throws {
        let options: [IPCPOption] = [
            .ipCompressionProtocol(.vjCompressedTCP, data: [0x0F, 0x01]), .ipAddress(.unspecified),
            .primaryDNS(.unspecified),
            .primaryNBNS(.unspecified), .secondaryDNS(.unspecified), .secondaryNBNS(.unspecified),
        ]
        let packet = IPCPMessage.configureRequest(options).packet(identifier: 1)
        let parsed = try IPCPMessage(ControlPacket(parsing: packet.bytes))
        #expect(parsed == .configureRequest(options))
        #expect(
            parsed.logDescription(identifier: 1).hasPrefix(
                "IPCP ConfReq id=0x1 <compress VJ 0f 01> <addr 0.0.0.0> <ms-dns1 0.0.0.0>"
            )
        )
    }

    @Test func printsIPV6CPInterfaceIdentifierAsPppdDoes() {
        #expect(
            IPV6CPOption.interfaceIdentifier(0x1C0E_A7D5_8B21_700A).description == "<addr fe80::1c0e:a7d5:8b21:700a>"
        )
    }

    @Test func roundTripsGeneratedOptions() async {
        await propertyCheck(count: 500, input: Gen.uint8(in: 0...255).array(of: 0...120)) { seed in
            var s = ByteSource(seed)
            var lcp: [LCPOption] = []
            var ipcp: [IPCPOption] = []
            var ccp: [CCPOption] = []
            for _ in 0..<(s.byte() % 6) {
                lcp.append(makeLCPOption(&s))
                ipcp.append(makeIPCPOption(&s))
                ccp.append(
                    s.byte() & 1 == 0
                        ? .mppe(.init(rawValue: s.integer())) : .other(.init(type: 21, data: s.array(maxCount: 4)))
                )
            }
            let code = ControlCode(1 + s.byte() % 4)
            let id = s.byte()
            func roundTrip<O: TypedConfigurationOption>(_ options: [O]) -> [O]? {
                let raw = ConfigurationOption.serializeList(options.map(\.raw))
                return (try? ConfigurationOption.parseList(raw))?.map(O.init)
            }
            #expect(roundTrip(lcp) == lcp)
            #expect(roundTrip(ipcp) == ipcp)
            #expect(roundTrip(ccp) == ccp)
            let packet = ControlPacket(
                code: code,
                identifier: id,
                data: ConfigurationOption.serializeList(lcp.map(\.raw))
            )
            #expect((try? ControlPacket(parsing: packet.bytes)) == packet)
        }
    }

    @Test func arbitraryBytesNeverTrapThePacketParsers() async {
        await propertyCheck(count: 1000, input: Gen.uint8(in: 0...255).array(of: 0...80)) { junk in
            guard let packet = try? ControlPacket(parsing: junk) else { return }
            _ = try? LCPMessage(packet)
            _ = try? IPCPMessage(packet)
            _ = try? IPV6CPMessage(packet)
            _ = try? CCPMessage(packet)
            _ = try? PAPMessage(packet)
            _ = try? CHAPMessage(packet)
        }
    }
}

func makeLCPOption(_ s: inout ByteSource) -> LCPOption {
    switch s.byte() % 11 {
    case 0: return .maximumReceiveUnit(s.integer())
    case 1: return .asyncControlCharacterMap(s.integer())
    case 2: return .authenticationProtocol(.init(protocolNumber: .init(s.integer()), data: s.array(maxCount: 3)))
    case 3: return .qualityProtocol(.init(s.integer()), data: s.array(maxCount: 4))
    case 4: return .magicNumber(s.integer())
    case 5: return .protocolFieldCompression
    case 6: return .addressAndControlFieldCompression
    case 7: return .callback(operation: s.byte(), message: s.array(maxCount: 5))
    case 8: return .multilinkMRRU(s.integer())
    case 9: return .endpointDiscriminator(class: s.byte(), address: s.array(maxCount: 20))
    default: return .other(.init(type: 23 + s.byte() % 100, data: s.array(maxCount: 6)))
    }
}

func makeIPCPOption(_ s: inout ByteSource) -> IPCPOption {
    let address = IPv4Address(rawValue: s.integer())
    switch s.byte() % 8 {
    case 0: return .ipAddresses(source: address, destination: IPv4Address(rawValue: s.integer()))
    case 1: return .ipCompressionProtocol(.init(s.integer()), data: s.array(maxCount: 3))
    case 2: return .ipAddress(address)
    case 3: return .primaryDNS(address)
    case 4: return .primaryNBNS(address)
    case 5: return .secondaryDNS(address)
    case 6: return .secondaryNBNS(address)
    default: return .other(.init(type: 200, data: s.array(maxCount: 3)))
    }
}

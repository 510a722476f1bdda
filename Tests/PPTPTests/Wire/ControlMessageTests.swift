import NIOCore
import PPTP
import PropertyBased
import Testing

/// Byte vectors written from the field tables of RFC 2637 §2, independent of our serialiser.
/// Each entry: the message as we build it, and its octets laid out field by field.
let rfcVectors: [(String, ControlMessage, [UInt8])] = [
    (
        "SCCRQ (§2.1)",
        .startControlConnectionRequest(
            .init(
                protocolVersion: 0x0100,
                framingCapabilities: .asynchronous,
                bearerCapabilities: .analog,
                maximumChannels: 0,
                firmwareRevision: 2600,
                hostName: "host",
                vendor: "Microsoft"
            )
        ),
        bytes(
            "009c 0001 1a2b3c4d 0001 0000 | 0100 0000 | 00000001 | 00000001 | 0000 0a28"
                + "686f7374" + String(repeating: "00", count: 60)
                + "4d6963726f736f6674" + String(repeating: "00", count: 55)
        )
    ),
    (
        "SCCRP (§2.2)",
        .startControlConnectionReply(
            .init(
                protocolVersion: 0x0100,
                resultCode: .success,
                errorCode: .none,
                framingCapabilities: [.asynchronous, .synchronous],
                bearerCapabilities: [.analog, .digital],
                maximumChannels: 1,
                firmwareRevision: 1,
                hostName: "pptpd",
                vendor: "linux"
            )
        ),
        bytes(
            "009c 0001 1a2b3c4d 0002 0000 | 0100 01 00 | 00000003 | 00000003 | 0001 0001"
                + "7070747064" + String(repeating: "00", count: 59)
                + "6c696e7578" + String(repeating: "00", count: 59)
        )
    ),
    (
        "StopCCRQ (§2.3)", .stopControlConnectionRequest(.init(reason: .localShutdown)),
        bytes("0010 0001 1a2b3c4d 0003 0000 | 03 00 0000")
    ),
    (
        "StopCCRP (§2.4)", .stopControlConnectionReply(.init(resultCode: .generalError, errorCode: .badValue)),
        bytes("0010 0001 1a2b3c4d 0004 0000 | 02 03 0000")
    ),
    (
        "Echo-Request (§2.5)", .echoRequest(.init(identifier: 0xDEAD_BEEF)),
        bytes("0010 0001 1a2b3c4d 0005 0000 | deadbeef")
    ),
    (
        "Echo-Reply (§2.6)", .echoReply(.init(identifier: 0xDEAD_BEEF, resultCode: .ok, errorCode: .none)),
        bytes("0014 0001 1a2b3c4d 0006 0000 | deadbeef | 01 00 0000")
    ),
    (
        "OCRQ (§2.7)",
        .outgoingCallRequest(
            .init(
                callID: 0x1234,
                callSerialNumber: 7,
                minimumBPS: 300,
                maximumBPS: 100_000_000,
                bearerType: .either,
                framingType: .either,
                receiveWindowSize: 64,
                processingDelay: 0,
                phoneNumber: "555",
                subaddress: ""
            )
        ),
        bytes(
            "00a8 0001 1a2b3c4d 0007 0000 | 1234 0007 | 0000012c | 05f5e100 | 00000003 | 00000003 | 0040 0000 | 0003 0000"
                + "353535" + String(repeating: "00", count: 61) + String(repeating: "00", count: 64)
        )
    ),
    (
        "OCRP (§2.8)",
        .outgoingCallReply(
            .init(
                callID: 0x0100,
                peerCallID: 0x1234,
                resultCode: .connected,
                errorCode: .none,
                causeCode: 0,
                connectSpeed: 100_000_000,
                receiveWindowSize: 16384,
                processingDelay: 0,
                physicalChannelID: 9
            )
        ),
        bytes("0020 0001 1a2b3c4d 0008 0000 | 0100 1234 | 01 00 0000 | 05f5e100 | 4000 0000 | 00000009")
    ),
    (
        "ICRQ (§2.9)",
        .incomingCallRequest(
            .init(
                callID: 3,
                callSerialNumber: 4,
                bearerType: .analog,
                physicalChannelID: 5,
                dialedNumber: "100",
                dialingNumber: "2001",
                subaddress: "x"
            )
        ),
        bytes(
            "00dc 0001 1a2b3c4d 0009 0000 | 0003 0004 | 00000001 | 00000005 | 0003 0004"
                + "313030" + String(repeating: "00", count: 61)
                + "32303031" + String(repeating: "00", count: 60)
                + "78" + String(repeating: "00", count: 63)
        )
    ),
    (
        "ICRP (§2.10)",
        .incomingCallReply(
            .init(
                callID: 8,
                peerCallID: 3,
                resultCode: .connect,
                errorCode: .none,
                receiveWindowSize: 16,
                transmitDelay: 2
            )
        ),
        bytes("0018 0001 1a2b3c4d 000a 0000 | 0008 0003 | 01 00 0010 | 0002 0000")
    ),
    (
        "ICCN (§2.11)",
        .incomingCallConnected(
            .init(
                peerCallID: 8,
                connectSpeed: 33600,
                receiveWindowSize: 16,
                transmitDelay: 1,
                framingType: .asynchronous
            )
        ),
        bytes("001c 0001 1a2b3c4d 000b 0000 | 0008 0000 | 00008340 | 0010 0001 | 00000001")
    ),
    (
        "Call-Clear-Request (§2.12)", .callClearRequest(.init(callID: 0xBEEF)),
        bytes("0010 0001 1a2b3c4d 000c 0000 | beef 0000")
    ),
    (
        "Call-Disconnect-Notify (§2.13)",
        .callDisconnectNotify(
            .init(callID: 0x0100, resultCode: .request, errorCode: .none, causeCode: 16, callStatistics: "ok")
        ),
        bytes("0094 0001 1a2b3c4d 000d 0000 | 0100 04 00 | 0010 0000" + "6f6b" + String(repeating: "00", count: 126))
    ),
    (
        "WAN-Error-Notify (§2.14)",
        .wanErrorNotify(
            .init(
                peerCallID: 2,
                crcErrors: 1,
                framingErrors: 2,
                hardwareOverruns: 3,
                bufferOverruns: 4,
                timeoutErrors: 5,
                alignmentErrors: 6
            )
        ),
        bytes("0028 0001 1a2b3c4d 000e 0000 | 0002 0000 | 00000001 00000002 00000003 00000004 00000005 00000006")
    ),
    (
        "Set-Link-Info (§2.15)", .setLinkInfo(.init(peerCallID: 0x0100, sendACCM: 0xFFFF_FFFF, receiveACCM: 0)),
        bytes("0018 0001 1a2b3c4d 000f 0000 | 0100 0000 | ffffffff | 00000000")
    ),
]

@Suite struct ControlMessageTests {
    @Test(arguments: 0..<rfcVectors.count)
    func parsesVector(_ index: Int) throws {
        let (name, message, octets) = rfcVectors[index]
        let parsed = try ControlMessage(parsing: ByteBuffer(bytes: octets))
        #expect(parsed == message, "\(name)")
    }

    @Test(arguments: 0..<rfcVectors.count)
    func writesVector(_ index: Int) {
        let (name, message, octets) = rfcVectors[index]
        #expect(message.serialized().allBytes == octets, "\(name)")
        #expect(octets.count == Int(message.messageType.fixedLength ?? 0), "\(name)")
    }

    @Test func vectorsCoverEveryMessageType() {
        let types = Set(rfcVectors.map { $0.1.messageType.rawValue })
        #expect(types == Set(1...15))
    }

    @Test(arguments: 0..<rfcVectors.count)
    func rejectsEveryTruncation(_ index: Int) throws {
        let octets = rfcVectors[index].2
        for cut in 0..<octets.count {
            var buffer = ByteBuffer(bytes: octets[..<cut])
            // A prefix is never an error: the framer asks for more bytes and leaves them alone.
            #expect(try ControlMessage.read(from: &buffer) == nil)
            #expect(buffer.readableBytes == cut)
        }
    }

    @Test(arguments: 0..<rfcVectors.count)
    func framerYieldsNilUntilTheLastByteWhenFedOneByteAtATime(_ index: Int) throws {
        let (_, message, octets) = rfcVectors[index]
        var decoder = ControlStreamDecoder()
        for (i, byte) in octets.enumerated() {
            decoder.append([byte])
            let output = try decoder.next()
            if i < octets.count - 1 {
                #expect(output == nil)
            } else {
                #expect(output == .message(message))
            }
        }
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func rejectsLengthBelowHeader() {
        for length in 0..<12 {
            var buffer = ByteBuffer(bytes: [0, UInt8(length), 0, 1, 0x1A, 0x2B, 0x3C, 0x4D, 0, 5, 0, 0, 0, 0, 0, 0])
            #expect(throws: PPTPWireError.lengthBelowHeader(UInt16(length))) { try ControlMessage.read(from: &buffer) }
        }
    }

    @Test func rejectsLengthAboveTheLargestMessage() {
        var buffer = ByteBuffer(bytes: bytes("00dd 0001 1a2b3c4d 0009 0000"))
        #expect(throws: PPTPWireError.lengthAboveMaximum(221)) { try ControlMessage.read(from: &buffer) }
    }

    @Test func rejectsBadMagicCookie() {
        var buffer = ByteBuffer(bytes: bytes("0010 0001 1a2b3c4e 0005 0000 deadbeef"))
        #expect(throws: PPTPWireError.badMagicCookie(0x1A2B_3C4E)) { try ControlMessage.read(from: &buffer) }
    }

    @Test func rejectsManagementMessageTypeButStaysInSync() throws {
        var buffer = ByteBuffer(
            bytes: bytes("0010 0002 1a2b3c4d 0005 0000 deadbeef") + bytes("0010 0001 1a2b3c4d 0005 0000 00000001")
        )
        #expect(throws: PPTPWireError.unsupportedMessageType(2)) { try ControlMessage.read(from: &buffer) }
        #expect(try ControlMessage.read(from: &buffer) == .echoRequest(.init(identifier: 1)))
    }

    @Test func rejectsUnknownControlTypeButStaysInSync() throws {
        var decoder = ControlStreamDecoder()
        decoder.append(bytes("0010 0001 1a2b3c4d 0010 0000 00000000") + bytes("0010 0001 1a2b3c4d 0005 0000 00000002"))
        #expect(try decoder.next() == .rejected(.unknownControlMessageType(16)))
        #expect(try decoder.next() == .message(.echoRequest(.init(identifier: 2))))
        #expect(try decoder.next() == nil)
    }

    @Test func rejectsLengthThatDiffersFromTheMessageSize() throws {
        // An Echo-Request that claims 20 octets (it has 16) and a Set-Link-Info of 16 (it has 24).
        var decoder = ControlStreamDecoder()
        decoder.append(bytes("0014 0001 1a2b3c4d 0005 0000 00000001 00000000"))
        decoder.append(bytes("0010 0001 1a2b3c4d 000f 0000 00000000"))
        #expect(try decoder.next() == .rejected(.lengthMismatch(type: .echoRequest, length: 20, expected: 16)))
        #expect(try decoder.next() == .rejected(.lengthMismatch(type: .setLinkInfo, length: 16, expected: 24)))
    }

    @Test func streamDecoderSplitsSeveralMessagesInOneRead() throws {
        var decoder = ControlStreamDecoder()
        decoder.append(rfcVectors.flatMap(\.2))
        let outputs = try decoder.drain()
        #expect(outputs == rfcVectors.map { .message($0.1) })
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func streamDecoderFailsForGoodOnALyingLength() throws {
        var decoder = ControlStreamDecoder()
        decoder.append(bytes("ffff 0001 1a2b3c4d 0005 0000"))
        #expect(throws: PPTPWireError.lengthAboveMaximum(0xFFFF)) { try decoder.next() }
        decoder.append(rfcVectors[4].2)
        // Once the framing is lost nothing more is decoded (RFC 2637 §1.4) and nothing is kept.
        #expect(throws: PPTPWireError.lengthAboveMaximum(0xFFFF)) { try decoder.next() }
        #expect(decoder.bufferedBytes == 0)
    }

    @Test func streamDecoderHandlesRandomChunking() async {
        let stream = rfcVectors.flatMap(\.2)
        await propertyCheck(count: 200, input: Gen.int(in: 1...300).array(of: 1...80)) { cuts in
            var decoder = ControlStreamDecoder()
            var outputs: [ControlStreamDecoder.Output] = []
            var offset = 0
            var i = 0
            while offset < stream.count {
                let size = min(cuts[i % cuts.count], stream.count - offset)
                decoder.append(stream[offset..<(offset + size)])
                offset += size
                i += 1
                outputs += (try? decoder.drain()) ?? []
                // Never more than one maximum message plus one read is buffered.
                #expect(decoder.bufferedBytes <= 220 + 300)
            }
            #expect(outputs == rfcVectors.map { .message($0.1) })
        }
    }

    @Test func roundTripsGeneratedMessages() async {
        await propertyCheck(count: 500, input: Gen.uint8(in: 0...255).array(of: 0...200)) { seed in
            var source = ByteSource(seed)
            let message = makeMessage(&source)
            let octets = message.serialized()
            #expect((try? ControlMessage(parsing: octets)) == message)
            #expect(octets.readableBytes == Int(message.messageType.fixedLength ?? 0))
        }
    }

    @Test func arbitraryBytesNeverTrapTheStreamDecoder() async {
        await propertyCheck(count: 500, input: Gen.uint8(in: 0...255).array(of: 0...600)) { junk in
            var decoder = ControlStreamDecoder()
            decoder.append(junk)
            var steps = 0
            while let _ = try? decoder.next() {
                steps += 1
                #expect(steps <= junk.count / 12 + 1)
            }
        }
    }

    @Test func toleratesNonZeroReservedFields() throws {
        // RFC 2637 says Reserved "MUST be 0" for senders; receivers ignore them.
        let octets = bytes("0010 0001 1a2b3c4d 000c ffff | beef ffff")
        #expect(try ControlMessage(parsing: ByteBuffer(bytes: octets)) == .callClearRequest(.init(callID: 0xBEEF)))
    }

    @Test func keepsUnknownResultCodesAsData() throws {
        let octets = bytes("0010 0001 1a2b3c4d 0004 0000 | 09 63 0000")
        let message = try ControlMessage(parsing: ByteBuffer(bytes: octets))
        #expect(
            message
                == .stopControlConnectionReply(.init(resultCode: .init(rawValue: 9), errorCode: .init(rawValue: 0x63)))
        )
        #expect(message.serialized().allBytes == octets)
    }

    @Test func keepsOctetsAfterTheTerminatingZeroOfAFixedWidthString() throws {
        var octets = rfcVectors[0].2
        octets[12 + 16 + 10] = 0x41  // garbage after "host\0"
        let message = try ControlMessage(parsing: ByteBuffer(bytes: octets))
        guard case .startControlConnectionRequest(let request) = message else {
            Issue.record("not an SCCRQ")
            return
        }
        #expect(request.hostName.text == "host")
        #expect(message.serialized().allBytes == octets)
    }
}

/// A control message of a type chosen by the source, every field from the source.
func makeMessage(_ s: inout ByteSource) -> ControlMessage {
    switch s.byte() % 15 + 1 {
    case 1:
        var m = StartControlConnectionRequest(
            protocolVersion: s.integer(),
            framingCapabilities: .init(rawValue: s.integer()),
            bearerCapabilities: .init(rawValue: s.integer()),
            maximumChannels: s.integer(),
            firmwareRevision: s.integer()
        )
        m.hostName = FixedWidthString(octets: s.array(maxCount: 64), width: 64)
        m.vendor = FixedWidthString(octets: s.array(maxCount: 64), width: 64)
        return .startControlConnectionRequest(m)
    case 2:
        var m = StartControlConnectionReply(
            protocolVersion: s.integer(),
            resultCode: .init(rawValue: s.byte()),
            errorCode: .init(rawValue: s.byte()),
            framingCapabilities: .init(rawValue: s.integer()),
            bearerCapabilities: .init(rawValue: s.integer()),
            maximumChannels: s.integer(),
            firmwareRevision: s.integer()
        )
        m.hostName = FixedWidthString(octets: s.array(maxCount: 64), width: 64)
        m.vendor = FixedWidthString(octets: s.array(maxCount: 64), width: 64)
        return .startControlConnectionReply(m)
    case 3: return .stopControlConnectionRequest(.init(reason: .init(rawValue: s.byte())))
    case 4:
        return .stopControlConnectionReply(
            .init(resultCode: .init(rawValue: s.byte()), errorCode: .init(rawValue: s.byte()))
        )
    case 5: return .echoRequest(.init(identifier: s.integer()))
    case 6:
        return .echoReply(
            .init(identifier: s.integer(), resultCode: .init(rawValue: s.byte()), errorCode: .init(rawValue: s.byte()))
        )
    case 7:
        var m = OutgoingCallRequest(
            callID: s.integer(),
            callSerialNumber: s.integer(),
            minimumBPS: s.integer(),
            maximumBPS: s.integer(),
            bearerType: .init(rawValue: s.integer()),
            framingType: .init(rawValue: s.integer()),
            receiveWindowSize: s.integer(),
            processingDelay: s.integer(),
            phoneNumber: s.ascii(maxCount: 64),
            subaddress: s.ascii(maxCount: 64)
        )
        m.phoneNumberLength = s.integer()
        return .outgoingCallRequest(m)
    case 8:
        return .outgoingCallReply(
            .init(
                callID: s.integer(),
                peerCallID: s.integer(),
                resultCode: .init(rawValue: s.byte()),
                errorCode: .init(rawValue: s.byte()),
                causeCode: s.integer(),
                connectSpeed: s.integer(),
                receiveWindowSize: s.integer(),
                processingDelay: s.integer(),
                physicalChannelID: s.integer()
            )
        )
    case 9:
        var m = IncomingCallRequest(
            callID: s.integer(),
            callSerialNumber: s.integer(),
            bearerType: .init(rawValue: s.integer()),
            physicalChannelID: s.integer(),
            dialedNumber: s.ascii(maxCount: 64),
            dialingNumber: s.ascii(maxCount: 64),
            subaddress: s.ascii(maxCount: 64)
        )
        m.dialedNumberLength = s.integer()
        return .incomingCallRequest(m)
    case 10:
        return .incomingCallReply(
            .init(
                callID: s.integer(),
                peerCallID: s.integer(),
                resultCode: .init(rawValue: s.byte()),
                errorCode: .init(rawValue: s.byte()),
                receiveWindowSize: s.integer(),
                transmitDelay: s.integer()
            )
        )
    case 11:
        return .incomingCallConnected(
            .init(
                peerCallID: s.integer(),
                connectSpeed: s.integer(),
                receiveWindowSize: s.integer(),
                transmitDelay: s.integer(),
                framingType: .init(rawValue: s.integer())
            )
        )
    case 12: return .callClearRequest(.init(callID: s.integer()))
    case 13:
        return .callDisconnectNotify(
            .init(
                callID: s.integer(),
                resultCode: .init(rawValue: s.byte()),
                errorCode: .init(rawValue: s.byte()),
                causeCode: s.integer(),
                callStatistics: s.ascii(maxCount: 128)
            )
        )
    case 14:
        return .wanErrorNotify(
            .init(
                peerCallID: s.integer(),
                crcErrors: s.integer(),
                framingErrors: s.integer(),
                hardwareOverruns: s.integer(),
                bufferOverruns: s.integer(),
                timeoutErrors: s.integer(),
                alignmentErrors: s.integer()
            )
        )
    default: return .setLinkInfo(.init(peerCallID: s.integer(), sendACCM: s.integer(), receiveACCM: s.integer()))
    }
}

import NIOCore
import PPP
import Testing

@Suite struct AuthenticationMessageTests {
    @Test func parsesCapturedMSCHAPv2Response() throws {
        let frame = try PPPFrame(parsing: ByteBuffer(bytes: Golden.chapResponse))
        let packet = try ControlPacket(parsing: frame.information)
        #expect(packet.identifier == 0x40)
        guard case .response(let value, let name) = try CHAPMessage(packet) else {
            Issue.record("not a response")
            return
        }
        #expect(name == Array("alice".utf8))
        let response = try MSCHAPv2Response(value)
        #expect(response.peerChallenge == bytes("2ead235b996893cee6da607f3eb3f473"))
        #expect(response.ntResponse == bytes("7f3f41ea2a4876ff83a0608bd53184f4553527ce1ad6fec3"))
        #expect(response.bytes == value)
    }

    @Test func parsesCapturedSuccessMessage() throws {
        let success = try MSCHAPv2Success(Array("S=2600A6CD0580392F8A51055477EB43E1A1578F10 M=Access granted".utf8))
        #expect(success.authenticatorResponse == bytes("2600A6CD0580392F8A51055477EB43E1A1578F10"))
        #expect(success.message == "Access granted")
        #expect(
            String(decoding: success.bytes, as: UTF8.self)
                == "S=2600A6CD0580392F8A51055477EB43E1A1578F10 M=Access granted"
        )
    }

    @Test func rejectsSuccessWithoutAuthenticatorResponse() {
        #expect(throws: PPPWireError.malformedText(field: UInt8(ascii: "S"))) {
            try MSCHAPv2Success(Array("M=Access granted".utf8))
        }
        #expect(throws: PPPWireError.malformedText(field: UInt8(ascii: "S"))) {
            try MSCHAPv2Success(Array("S=12".utf8))
        }
    }

    @Test func parsesCapturedFailureMessage() throws {
        // Capture 08: the real pppd's answer to a wrong password.
        let failure = try MSCHAPFailure(Array("E=691 R=1 C=ad8f8594706314b199fbd012983787d1 V=0 M=Access denied".utf8))
        #expect(failure.error == .authenticationFailure)
        #expect(failure.retryAllowed)
        #expect(failure.challenge == bytes("ad8f8594706314b199fbd012983787d1"))
        #expect(failure.version == 0)
        #expect(failure.message == "Access denied")
    }

    @Test func parsesFailureWithOnlyAnErrorCode() throws {
        let failure = try MSCHAPFailure(Array("E=649 R=0".utf8))
        #expect(failure.error == .noDialinPermission)
        #expect(!failure.retryAllowed)
        #expect(failure.challenge == nil)
        #expect(failure.message == nil)
    }

    @Test func writesFailureInTheRFC2759Layout() {
        let failure = MSCHAPFailure(
            error: .passwordExpired,
            retryAllowed: false,
            challenge: Array(repeating: 0xAB, count: 16),
            version: 3,
            message: "expired"
        )
        #expect(
            String(decoding: failure.bytes, as: UTF8.self)
                == "E=648 R=0 C=ABABABABABABABABABABABABABABABAB V=3 M=expired"
        )
        #expect((try? MSCHAPFailure(failure.bytes)) == failure)
    }

    @Test func rejectsFailureWithoutErrorCode() {
        #expect(throws: PPPWireError.self) { try MSCHAPFailure(Array("R=1 M=hi".utf8)) }
    }

    @Test func papRoundTripsAndHidesThePassword() throws {
        let message = PAPMessage.authenticateRequest(
            peerID: Array("grace".utf8),
            password: Array("Grace-PAP-Plain".utf8)
        )
        let packet = message.packet(identifier: 1)
        #expect(packet.data == [5] + Array("grace".utf8) + [15] + Array("Grace-PAP-Plain".utf8))
        #expect(try PAPMessage(packet) == message)
        #expect(!message.description.contains("Grace-PAP-Plain"))
        #expect(message.description(showPassword: true).contains("Grace-PAP-Plain"))
    }

    @Test func papRejectsLengthsBeyondThePacket() {
        #expect(throws: PPPWireError.self) {
            try PAPMessage(ControlPacket(code: .init(1), identifier: 1, data: [5, 0x61]))
        }
        #expect(throws: PPPWireError.self) {
            try PAPMessage(ControlPacket(code: .init(1), identifier: 1, data: [1, 0x61, 3, 0]))
        }
    }

    @Test func changePasswordRoundTrips() throws {
        let change = MSCHAPv2ChangePassword(
            encryptedPassword: Array(repeating: 1, count: 516),
            encryptedHash: Array(repeating: 2, count: 16),
            peerChallenge: Array(repeating: 3, count: 16),
            ntResponse: Array(repeating: 4, count: 24),
            flags: 0
        )
        let packet = CHAPMessage.changePasswordV2(change).packet(identifier: 7)
        #expect(packet.data.count == 582)
        #expect(try CHAPMessage(packet) == .changePasswordV2(change))
    }

    @Test func msCHAPv1ResponseLayout() throws {
        let response = MSCHAPv1Response(ntResponse: Array(repeating: 9, count: 24))
        #expect(response.bytes.count == 49)
        #expect(response.bytes[48] == 1)
        #expect(try MSCHAPv1Response(response.bytes) == response)
        #expect(throws: PPPWireError.unexpectedLength(expected: 49, actual: 48)) {
            try MSCHAPv1Response(Array(response.bytes.dropLast()))
        }
    }
}

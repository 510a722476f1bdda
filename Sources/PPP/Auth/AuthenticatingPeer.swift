import MSCrypto
import NIOCore

/// The peer side of authentication (the client): answers the authenticator with PAP
/// (RFC 1334), CHAP-MD5 (RFC 1994), MS-CHAPv1 (RFC 2433) or MS-CHAPv2 (RFC 2759), checks the
/// MS-CHAPv2 authenticator response (mutual authentication), and changes an expired password
/// (RFC 2759 §7) when a new one is configured.
public struct AuthenticatingPeer: Sendable {
    public let method: AuthenticationMethod
    public private(set) var credentials: ClientCredentials
    public let timers: AuthenticationTimers

    private enum Phase: Sendable {
        case idle
        /// PAP: our request is out.
        case papRequested(identifier: UInt8, sent: Int)
        /// CHAP: waiting for a Challenge (the authenticator speaks first).
        case awaitingChallenge
        /// CHAP: our response to this challenge is out.
        case responded(Pending)
        case succeeded
        case failed
    }

    private struct Pending: Sendable {
        var identifier: UInt8
        var challenge: [UInt8]
        var peerChallenge: [UInt8]
        var ntResponse: [UInt8]
        var response: ControlPacket
        /// The hash the response was computed with (differs from the credentials' during a
        /// password change).
        var passwordHash: NTPasswordHash
        var changingPassword: Bool
    }

    private var phase: Phase = .idle
    private var random: any RandomNumberGenerator & Sendable
    private var papIdentifier: UInt8
    public private(set) var nextDeadline: NIODeadline?
    /// The last MS-CHAP failure received, for the user's error message.
    public private(set) var lastFailure: MSCHAPFailure?

    public init(
        method: AuthenticationMethod,
        credentials: ClientCredentials,
        timers: AuthenticationTimers = .init(),
        random: any RandomNumberGenerator & Sendable
    ) {
        self.method = method
        self.credentials = credentials
        self.timers = timers
        self.random = random
        self.papIdentifier = UInt8.random(in: 0...255, using: &self.random)
    }

    public var isFinished: Bool {
        switch phase {
        case .succeeded, .failed: return true
        case .idle, .papRequested, .awaitingChallenge, .responded: return false
        }
    }

    private var userName: [UInt8] { Array(credentials.userName.utf8) }

    /// Starts once LCP is open: PAP sends its request, CHAP waits for a Challenge.
    public mutating func start(now: NIODeadline) -> [AuthenticationAction] {
        guard case .idle = phase else { return [] }
        switch method {
        case .pap:
            guard let password = credentials.password else { return fail(.noCredentials) }
            papIdentifier &+= 1
            phase = .papRequested(identifier: papIdentifier, sent: 1)
            nextDeadline = now + timers.restartInterval
            return [.send(.pap, papRequest(password: password))]
        case .chapMD5, .msCHAPv1, .msCHAPv2:
            phase = .awaitingChallenge
            return []
        case .eap:
            return fail(.noCredentials)
        }
    }

    private func papRequest(password: String) -> ControlPacket {
        PAPMessage.authenticateRequest(peerID: userName, password: Array(password.utf8)).packet(
            identifier: papIdentifier
        )
    }

    private mutating func fail(_ failure: AuthenticationFailure) -> [AuthenticationAction] {
        phase = .failed
        nextDeadline = nil
        return [.failed(failure)]
    }

    /// Handles a PAP or CHAP packet from the authenticator.
    public mutating func receive(_ packet: ControlPacket, now: NIODeadline) -> [AuthenticationAction] {
        if method == .pap {
            guard case .papRequested(let id, _) = phase, packet.identifier == id, let message = try? PAPMessage(packet)
            else { return [] }
            switch message {
            case .authenticateAck:
                phase = .succeeded
                nextDeadline = nil
                return [.succeeded(userName: credentials.userName, method: .pap, keys: nil)]
            case .authenticateNak(let text):
                return fail(.rejected(.authenticationFailure, message: String(decoding: text, as: UTF8.self)))
            case .authenticateRequest, .unknown:
                return []
            }
        }
        guard let message = try? CHAPMessage(packet) else { return [] }
        switch (phase, message) {
        case (.awaitingChallenge, .challenge(let value, _)), (.responded, .challenge(let value, _)):
            if case .responded(let pending) = phase, pending.identifier == packet.identifier, pending.challenge == value
            {
                // A retransmitted Challenge: our Response was lost; repeat it unchanged.
                return [.send(.chap, pending.response)]
            }
            return respond(
                to: value,
                identifier: packet.identifier,
                passwordHash: credentials.passwordHash,
                changing: false
            )
        case (.responded(let pending), .success(let text)) where packet.identifier == pending.identifier:
            return succeed(pending, successText: text)
        case (.responded(let pending), .failure(let text)) where packet.identifier == pending.identifier:
            return failed(pending, failureText: text, now: now)
        default:
            return []
        }
    }

    private mutating func respond(
        to challenge: [UInt8],
        identifier: UInt8,
        passwordHash: NTPasswordHash,
        changing: Bool
    ) -> [AuthenticationAction] {
        var peerChallenge: [UInt8] = []
        var ntResponse: [UInt8] = []
        let value: [UInt8]
        switch method {
        case .chapMD5:
            guard let password = credentials.password else { return fail(.noCredentials) }
            value = CHAPMD5.response(identifier: identifier, secret: Array(password.utf8), challenge: challenge)
        case .msCHAPv1:
            guard let response = try? MSCHAPv1.ntChallengeResponse(challenge: challenge, passwordHash: passwordHash)
            else {
                return fail(.protocolViolation)
            }
            ntResponse = response
            value = MSCHAPv1Response(ntResponse: response).bytes
        case .msCHAPv2:
            peerChallenge = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
            guard
                let response = try? MSCHAPv2.generateNTResponse(
                    authenticatorChallenge: challenge,
                    peerChallenge: peerChallenge,
                    userName: userName,
                    passwordHash: passwordHash
                )
            else { return fail(.protocolViolation) }
            ntResponse = response
            value = MSCHAPv2Response(peerChallenge: peerChallenge, ntResponse: response).bytes
        case .pap, .eap:
            return []
        }
        let packet = CHAPMessage.response(value: value, name: userName).packet(identifier: identifier)
        phase = .responded(
            Pending(
                identifier: identifier,
                challenge: challenge,
                peerChallenge: peerChallenge,
                ntResponse: ntResponse,
                response: packet,
                passwordHash: passwordHash,
                changingPassword: changing
            )
        )
        return [.send(.chap, packet)]
    }

    private mutating func succeed(_ pending: Pending, successText: [UInt8]) -> [AuthenticationAction] {
        var keys: MPPEKeyMaterial?
        switch method {
        case .msCHAPv2:
            // RFC 2759 §5: the peer MUST check the authenticator response and hang up if wrong.
            guard let success = try? MSCHAPv2Success(successText),
                MSCHAPv2.checkAuthenticatorResponse(
                    MSCHAPv2Success(authenticatorResponse: success.authenticatorResponse).bytes,
                    passwordHash: pending.passwordHash,
                    ntResponse: pending.ntResponse,
                    peerChallenge: pending.peerChallenge,
                    authenticatorChallenge: pending.challenge,
                    userName: userName
                )
            else { return fail(.serverNotAuthenticated) }
            keys = try? MPPEKeyMaterial.msCHAPv2(
                passwordHash: pending.passwordHash,
                ntResponse: pending.ntResponse,
                isServer: false
            )
        case .msCHAPv1:
            keys = try? MPPEKeyMaterial.msCHAPv1(passwordHash: pending.passwordHash, challenge: pending.challenge)
        case .chapMD5, .pap, .eap:
            break
        }
        phase = .succeeded
        nextDeadline = nil
        var actions: [AuthenticationAction] = []
        if pending.changingPassword, let newPassword = credentials.newPassword {
            credentials = ClientCredentials(userName: credentials.userName, password: newPassword)
            actions.append(.passwordChanged)
        }
        actions.append(.succeeded(userName: credentials.userName, method: method, keys: keys))
        return actions
    }

    private mutating func failed(_ pending: Pending, failureText: [UInt8], now: NIODeadline) -> [AuthenticationAction] {
        guard method == .msCHAPv1 || method == .msCHAPv2 else {
            return fail(.rejected(.authenticationFailure, message: String(decoding: failureText, as: UTF8.self)))
        }
        guard let failure = try? MSCHAPFailure(failureText) else {
            return fail(.rejected(.authenticationFailure, message: String(decoding: failureText, as: UTF8.self)))
        }
        lastFailure = failure
        // RFC 2759 §7: password expired, a new one configured, and a challenge to use: change it.
        if method == .msCHAPv2, failure.error == .passwordExpired, !pending.changingPassword,
            let newPassword = credentials.newPassword, let challenge = failure.challenge, challenge.count == 16
        {
            return changePassword(to: newPassword, challenge: challenge, identifier: pending.identifier &+ 1)
        }
        return fail(.rejected(failure.error, message: failure.message ?? ""))
    }

    private mutating func changePassword(
        to newPassword: String,
        challenge: [UInt8],
        identifier: UInt8
    ) -> [AuthenticationAction] {
        let newHash = NTPasswordHash(password: newPassword)
        let peerChallenge = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
        guard
            let encryptedPassword = try? MSCHAPv2.newPasswordEncryptedWithOldNTPasswordHash(
                newPassword: newPassword,
                oldPasswordHash: credentials.passwordHash,
                using: &random
            ),
            let ntResponse = try? MSCHAPv2.generateNTResponse(
                authenticatorChallenge: challenge,
                peerChallenge: peerChallenge,
                userName: userName,
                passwordHash: newHash
            )
        else { return fail(.protocolViolation) }
        let change = MSCHAPv2ChangePassword(
            encryptedPassword: encryptedPassword,
            encryptedHash: MSCHAPv2.oldNTPasswordHashEncryptedWithNewNTPasswordHash(
                newPasswordHash: newHash,
                oldPasswordHash: credentials.passwordHash
            ),
            peerChallenge: peerChallenge,
            ntResponse: ntResponse
        )
        let packet = CHAPMessage.changePasswordV2(change).packet(identifier: identifier)
        phase = .responded(
            Pending(
                identifier: identifier,
                challenge: challenge,
                peerChallenge: peerChallenge,
                ntResponse: ntResponse,
                response: packet,
                passwordHash: newHash,
                changingPassword: true
            )
        )
        return [.send(.chap, packet)]
    }

    /// The PAP Restart timer: retransmits the request, or gives up.
    public mutating func timeout(now: NIODeadline) -> [AuthenticationAction] {
        guard let deadline = nextDeadline, now >= deadline else { return [] }
        guard case .papRequested(let id, let sent) = phase, let password = credentials.password else {
            nextDeadline = nil
            return []
        }
        guard sent < timers.maxTransmissions else { return fail(.timeout) }
        phase = .papRequested(identifier: id, sent: sent + 1)
        nextDeadline = now + timers.restartInterval
        return [.send(.pap, papRequest(password: password))]
    }
}

import MSCrypto
import NIOCore

/// The authenticator side (the server): PAP (RFC 1334), CHAP-MD5 (RFC 1994), MS-CHAPv1
/// (RFC 2433) and MS-CHAPv2 (RFC 2759).
///
/// It never decides by itself: a response becomes a `.verify(AuthenticationRequest)` action, and
/// the layer above answers with `receive(verdict:)` whenever it knows (a secrets file at once,
/// RADIUS later). Meanwhile retransmitted responses are ignored.
public struct Authenticator: Sendable {
    public let method: AuthenticationMethod
    /// Our name, sent in CHAP Challenges (pppd's `name`).
    public let name: String
    public let timers: AuthenticationTimers
    /// Responses we verify before giving up (MS-CHAPv2 with R=1 allows retries, RFC 2759 §6).
    public let maxAttempts: Int

    private enum Phase: Hashable, Sendable {
        case idle
        /// CHAP: a challenge is out; `sent` counts its transmissions.
        case challenging(identifier: UInt8, challenge: [UInt8], sent: Int)
        /// PAP: waiting for the peer's request.
        case awaitingRequest
        /// The verdict on the response with this identifier is pending.
        case verifying(identifier: UInt8, challenge: [UInt8], request: AuthenticationRequest)
        /// MS-CHAPv2 after E=648: the peer may send Change-Password for this challenge.
        case awaitingPasswordChange(identifier: UInt8, challenge: [UInt8], failure: ControlPacket)
        /// Finished: the answer is kept to repeat it if the peer retransmits.
        case succeeded(identifier: UInt8, answer: ControlPacket)
        case failed(identifier: UInt8, answer: ControlPacket)
    }

    private var phase: Phase = .idle
    private var attempts = 0
    private var identifier: UInt8
    private var random: any RandomNumberGenerator & Sendable
    public private(set) var nextDeadline: NIODeadline?

    public init(
        method: AuthenticationMethod,
        name: String,
        timers: AuthenticationTimers = .init(),
        maxAttempts: Int = 1,
        random: any RandomNumberGenerator & Sendable
    ) {
        self.method = method
        self.name = name
        self.timers = timers
        self.maxAttempts = max(1, maxAttempts)
        self.random = random
        self.identifier = UInt8.random(in: 0...255, using: &self.random)
    }

    private var protocolNumber: PPPProtocolNumber { method == .pap ? .pap : .chap }

    /// Whether the machine has finished (either way).
    public var isFinished: Bool {
        switch phase {
        case .succeeded, .failed: return true
        case .idle, .challenging, .awaitingRequest, .verifying, .awaitingPasswordChange: return false
        }
    }

    /// Starts authentication once LCP is open: CHAP sends its Challenge, PAP waits.
    public mutating func start(now: NIODeadline) -> [AuthenticationAction] {
        guard case .idle = phase else { return [] }
        if method == .pap {
            phase = .awaitingRequest
            return []
        }
        return sendChallenge(now: now)
    }

    private mutating func newChallenge() -> [UInt8] {
        let length: Int
        switch method {
        case .msCHAPv1: length = 8  // RFC 2433 §2
        case .msCHAPv2: length = 16  // RFC 2759 §3
        case .chapMD5, .pap, .eap: length = 16  // RFC 1994 §2.3: at least 16 recommended
        }
        return (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    private mutating func sendChallenge(now: NIODeadline) -> [AuthenticationAction] {
        identifier &+= 1
        let challenge = newChallenge()
        phase = .challenging(identifier: identifier, challenge: challenge, sent: 1)
        nextDeadline = now + timers.restartInterval
        return [
            .send(.chap, CHAPMessage.challenge(value: challenge, name: Array(name.utf8)).packet(identifier: identifier))
        ]
    }

    /// Handles a PAP or CHAP packet from the peer.
    public mutating func receive(_ packet: ControlPacket, now: NIODeadline) -> [AuthenticationAction] {
        if method == .pap { return receivePAP(packet) }
        guard let message = try? CHAPMessage(packet) else { return [] }
        switch (phase, message) {
        case (.challenging(let id, let challenge, _), .response(let value, let name)) where packet.identifier == id:
            guard let proof = proof(value: value, challenge: challenge, identifier: id) else {
                return finishFailure(
                    identifier: id,
                    code: .authenticationFailure,
                    message: "Malformed response",
                    failure: .protocolViolation
                )
            }
            let request = AuthenticationRequest(userName: String(decoding: name, as: UTF8.self), proof: proof)
            phase = .verifying(identifier: id, challenge: challenge, request: request)
            nextDeadline = nil
            attempts += 1
            return [.verify(request)]
        case (.awaitingPasswordChange(let id, let challenge, _), .changePasswordV2(let change))
        where packet.identifier == id &+ 1:
            let proof = AuthenticationRequest.Proof.msCHAPv2ChangePassword(
                authenticatorChallenge: challenge,
                peerChallenge: change.peerChallenge,
                ntResponse: change.ntResponse,
                encryptedPassword: change.encryptedPassword,
                encryptedHash: change.encryptedHash
            )
            // RFC 2759 §7: the Change-Password carries no name; it is the user of the failure.
            identifier = packet.identifier
            let request = AuthenticationRequest(userName: pendingUserName, proof: proof)
            phase = .verifying(identifier: packet.identifier, challenge: challenge, request: request)
            attempts += 1
            return [.verify(request)]
        case (.awaitingPasswordChange(_, _, let failure), .response) where packet.identifier == failure.identifier:
            return [.send(.chap, failure)]
        case (.succeeded(let id, let answer), .response) where packet.identifier == id,
            (.failed(let id, let answer), .response) where packet.identifier == id:
            // RFC 1994 §4.2: the Success/Failure was lost; repeat it.
            return [.send(.chap, answer)]
        default:
            // Stale identifiers, Success/Failure from the peer, responses while verifying.
            return []
        }
    }

    private var pendingUserName = ""

    private func proof(value: [UInt8], challenge: [UInt8], identifier: UInt8) -> AuthenticationRequest.Proof? {
        switch method {
        case .chapMD5:
            return .chapMD5(identifier: identifier, challenge: challenge, response: value)
        case .msCHAPv1:
            guard let response = try? MSCHAPv1Response(value), response.useNTResponse else { return nil }
            return .msCHAPv1(challenge: challenge, ntResponse: response.ntResponse)
        case .msCHAPv2:
            guard let response = try? MSCHAPv2Response(value) else { return nil }
            return .msCHAPv2(
                authenticatorChallenge: challenge,
                peerChallenge: response.peerChallenge,
                ntResponse: response.ntResponse
            )
        case .pap, .eap:
            return nil
        }
    }

    private mutating func receivePAP(_ packet: ControlPacket) -> [AuthenticationAction] {
        guard let message = try? PAPMessage(packet) else { return [] }
        switch (phase, message) {
        case (.awaitingRequest, .authenticateRequest(let peerID, let password)):
            let request = AuthenticationRequest(
                userName: String(decoding: peerID, as: UTF8.self),
                proof: .pap(password: password)
            )
            phase = .verifying(identifier: packet.identifier, challenge: [], request: request)
            attempts += 1
            return [.verify(request)]
        case (.succeeded(let id, let answer), .authenticateRequest) where packet.identifier == id,
            (.failed(let id, let answer), .authenticateRequest) where packet.identifier == id:
            return [.send(.pap, answer)]
        default:
            return []
        }
    }

    /// The layer above decided on the pending request.
    public mutating func receive(verdict: AuthenticationVerdict, now: NIODeadline) -> [AuthenticationAction] {
        guard case .verifying(let id, _, let request) = phase else { return [] }
        pendingUserName = request.userName
        switch verdict {
        case .accept(let authenticatorResponse, let keys, let text):
            let answer: ControlPacket
            switch method {
            case .pap:
                answer = PAPMessage.authenticateAck(message: Array(text.utf8)).packet(identifier: id)
            case .msCHAPv2:
                guard let authenticatorResponse, authenticatorResponse.count == 20 else {
                    // Without S= the client cannot check us and will hang up (RFC 2759 §5).
                    return finishFailure(
                        identifier: id,
                        code: .authenticationFailure,
                        message: "Server error",
                        failure: .protocolViolation
                    )
                }
                let success = MSCHAPv2Success(authenticatorResponse: authenticatorResponse, message: text)
                answer = CHAPMessage.success(message: success.bytes).packet(identifier: id)
            case .chapMD5, .msCHAPv1, .eap:
                answer = CHAPMessage.success(message: Array(text.utf8)).packet(identifier: id)
            }
            phase = .succeeded(identifier: id, answer: answer)
            nextDeadline = nil
            return [.send(protocolNumber, answer), .succeeded(userName: request.userName, method: method, keys: keys)]
        case .reject(let code, let text):
            return rejectResponse(identifier: id, code: code, message: text, now: now)
        }
    }

    private mutating func rejectResponse(
        identifier id: UInt8,
        code: MSCHAPErrorCode,
        message: String,
        now: NIODeadline
    ) -> [AuthenticationAction] {
        switch method {
        case .pap:
            return finishFailure(
                identifier: id,
                code: code,
                message: message,
                failure: .rejected(code, message: message)
            )
        case .chapMD5, .eap:
            return finishFailure(
                identifier: id,
                code: code,
                message: message,
                failure: .rejected(code, message: message)
            )
        case .msCHAPv1:
            // RFC 2433 §5 retries reuse challenge + 23; we do not offer them (R=0).
            let failure = MSCHAPFailure(error: code, retryAllowed: false, challenge: nil, version: 2, message: message)
            let answer = CHAPMessage.failure(message: failure.bytes).packet(identifier: id)
            phase = .failed(identifier: id, answer: answer)
            return [.send(.chap, answer), .failed(.rejected(code, message: message))]
        case .msCHAPv2:
            let challenge = newChallenge()
            let retry = code == .authenticationFailure && attempts < maxAttempts
            let failure = MSCHAPFailure(
                error: code,
                retryAllowed: retry,
                challenge: challenge,
                version: 3,
                message: message
            )
            let answer = CHAPMessage.failure(message: failure.bytes).packet(identifier: id)
            if retry {
                // RFC 2759 §6: the peer retries with a Response for C=, identifier + 1.
                identifier = id &+ 1
                phase = .challenging(identifier: identifier, challenge: challenge, sent: 1)
                nextDeadline = now + timers.restartInterval * Int64(timers.maxTransmissions)
                return [.send(.chap, answer)]
            }
            if code == .passwordExpired && attempts < maxAttempts + 1 {
                phase = .awaitingPasswordChange(identifier: id, challenge: challenge, failure: answer)
                nextDeadline = now + timers.restartInterval * Int64(timers.maxTransmissions)
                return [.send(.chap, answer)]
            }
            phase = .failed(identifier: id, answer: answer)
            nextDeadline = nil
            return [.send(.chap, answer), .failed(.rejected(code, message: message))]
        }
    }

    private mutating func finishFailure(
        identifier id: UInt8,
        code: MSCHAPErrorCode,
        message: String,
        failure: AuthenticationFailure
    ) -> [AuthenticationAction] {
        let answer: ControlPacket
        if method == .pap {
            answer = PAPMessage.authenticateNak(message: Array(message.utf8)).packet(identifier: id)
        } else if method == .msCHAPv2 || method == .msCHAPv1 {
            let text = MSCHAPFailure(
                error: code,
                retryAllowed: false,
                challenge: nil,
                version: method == .msCHAPv2 ? 3 : 2,
                message: message
            )
            answer = CHAPMessage.failure(message: text.bytes).packet(identifier: id)
        } else {
            answer = CHAPMessage.failure(message: Array(message.utf8)).packet(identifier: id)
        }
        phase = .failed(identifier: id, answer: answer)
        nextDeadline = nil
        return [.send(protocolNumber, answer), .failed(failure)]
    }

    /// The Restart timer: retransmits the Challenge, or gives up.
    public mutating func timeout(now: NIODeadline) -> [AuthenticationAction] {
        guard let deadline = nextDeadline, now >= deadline else { return [] }
        switch phase {
        case .challenging(let id, let challenge, let sent):
            guard sent < timers.maxTransmissions else {
                phase = .failed(identifier: id, answer: ControlPacket(code: .init(4), identifier: id))
                nextDeadline = nil
                return [.failed(.timeout)]
            }
            phase = .challenging(identifier: id, challenge: challenge, sent: sent + 1)
            nextDeadline = now + timers.restartInterval
            return [
                .send(.chap, CHAPMessage.challenge(value: challenge, name: Array(name.utf8)).packet(identifier: id))
            ]
        case .awaitingPasswordChange(let id, _, let failure):
            phase = .failed(identifier: id, answer: failure)
            nextDeadline = nil
            return [.failed(.rejected(.passwordExpired, message: "password expired"))]
        case .idle, .awaitingRequest, .verifying, .succeeded, .failed:
            nextDeadline = nil
            return []
        }
    }
}

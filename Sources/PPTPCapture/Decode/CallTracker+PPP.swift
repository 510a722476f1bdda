import MSCrypto
import NIOCore
import PPP
import PPTP

/// What the analysis of every call shares: the options, and hints about the peers.
struct AnalysisContext: Sendable {
    var options: DecodeOptions
    /// The peers look like Linux (pppd, pptpd, pptp-linux): for stateful MPPE, try the kernel's reset behaviour
    /// first.
    var preferLinuxResets: Bool
}

extension CallTracker {
    // MARK: Control protocols

    /// A packet of LCP, an NCP, PAP or CHAP, as pppd's debug log prints it, with its effects on the call.
    mutating func controlPacket(
        _ number: PPPProtocolNumber,
        _ packet: ControlPacket,
        sender: PeerSide,
        context: AnalysisContext
    ) -> PPPLine {
        do {
            switch number {
            case .lcp:
                return lcpPacket(try LCPMessage(packet), identifier: packet.identifier, sender: sender)
            case .ipcp:
                let message = try IPCPMessage(packet)
                Self.negotiate(&ipcp, message, identifier: packet.identifier, sender: sender)
                return .ipcp(message, identifier: packet.identifier)
            case .ipv6cp:
                let message = try IPV6CPMessage(packet)
                Self.negotiate(&ipv6cp, message, identifier: packet.identifier, sender: sender)
                return .ipv6cp(message, identifier: packet.identifier)
            case .ccp:
                return ccpPacket(try CCPMessage(packet), identifier: packet.identifier, sender: sender)
            case .pap:
                return papPacket(
                    try PAPMessage(packet),
                    identifier: packet.identifier,
                    sender: sender,
                    context: context
                )
            default:
                return chapPacket(
                    try CHAPMessage(packet),
                    identifier: packet.identifier,
                    sender: sender,
                    context: context
                )
            }
        } catch {
            pppErrors += 1
            return .controlPacketNotDecoded(
                number,
                code: packet.code.rawValue,
                identifier: packet.identifier,
                explanation: error.explanation
            )
        }
    }

    /// Tracks a Configure-Request/Ack/Nak/Reject (RFC 1661 §5.1–§5.4). Returns true when the protocol opened.
    @discardableResult
    static func negotiate<Option: TypedConfigurationOption>(
        _ tracker: inout NegotiationTracker,
        _ message: ControlProtocolMessage<Option>,
        identifier: UInt8,
        sender: PeerSide
    ) -> Bool {
        switch message {
        case .configureRequest(let options):
            tracker.request(from: sender, identifier: identifier, options: options.map(\.raw))
        case .configureAck(let options):
            return tracker.acknowledge(
                from: sender,
                identifier: identifier,
                options: options.map(\.raw),
                text: options.map(\.description)
            )
        case .configureNak(let options):
            tracker.refuse(from: sender, rejected: false, text: options.map(\.description))
        case .configureReject(let options):
            tracker.refuse(from: sender, rejected: true, text: options.map(\.description))
        default:
            break
        }
        return false
    }

    private mutating func lcpPacket(_ message: LCPMessage, identifier: UInt8, sender: PeerSide) -> PPPLine {
        Self.negotiate(&lcp, message, identifier: identifier, sender: sender)
        switch message {
        case .configureAck:
            updateAuthenticationMethod()
        case .terminateRequest(let data):
            let reason = String(decoding: data, as: UTF8.self)
            endEvents.append(
                EndEvent(
                    what: .lcpTerminateRequest(reason: reason),
                    side: sender,
                    frame: currentFrame,
                    time: currentTime,
                    text: "\(sender) sent LCP Terminate-Request" + (reason.isEmpty ? "" : " \(quotedText(data))")
                )
            )
        case .terminateAck:
            endEvents.append(
                EndEvent(
                    what: .lcpTerminateAck,
                    side: sender,
                    frame: currentFrame,
                    time: currentTime,
                    text: "\(sender) sent LCP Terminate-Ack"
                )
            )
        case .echoRequest:
            echo.request(from: sender, identifier: UInt32(identifier), time: currentTime, frame: currentFrame)
        case .echoReply:
            echo.reply(from: sender, identifier: UInt32(identifier))
        case .protocolReject(let rejected, _):
            let note =
                "\(sender) sent Protocol-Reject for \(rejected) (0x\(hex(rejected.rawValue, 4))): it does not run it"
            lcp.note(note)
            switch rejected {
            case .ipv6cp: ipv6cp.note(note)
            case .ccp: ccp.note(note)
            case .ipcp: ipcp.note(note)
            default: break
            }
        default:
            break
        }
        return .lcp(message, identifier: identifier, sender: sender)
    }

    private mutating func ccpPacket(_ message: CCPMessage, identifier: UInt8, sender: PeerSide) -> PPPLine {
        let wasOpenings = ccp.openings
        Self.negotiate(&ccp, message, identifier: identifier, sender: sender)
        if ccp.openings > wasOpenings && ccp.openings > 1 {
            // RFC 3078 §4: MPPE starts afresh, with the initial session keys, when CCP renegotiates.
            streams = [:]
        }
        if case .resetRequest = message {
            // RFC 3078 §8.2: the sender of a Reset-Request lost packets it receives.
            mppe[sender.other.sending, default: .init()].resetRequests += 1
        }
        return .ccp(message, identifier: identifier)
    }

    /// The method the authenticator asked for in its acknowledged LCP request (RFC 1661 §6.2).
    private mutating func updateAuthenticationMethod() {
        for side in PeerSide.allCases {
            for raw in lcp.acknowledged[side] ?? [] {
                if case .authenticationProtocol(let protocolValue) = LCPOption(raw) {
                    authenticator = side
                    authMethod = protocolValue.method
                }
            }
        }
    }

    // MARK: Authentication

    private mutating func papPacket(
        _ message: PAPMessage,
        identifier: UInt8,
        sender: PeerSide,
        context: AnalysisContext
    ) -> PPPLine {
        switch message {
        case .authenticateRequest(let peerID, let password):
            authMethod = authMethod ?? .pap
            authenticator = authenticator ?? sender.other
            user = String(decoding: peerID, as: UTF8.self)
            papPassword = password
            authAttempts += 1
            authOutcome = "not finished"
            let exchange = AuthenticationExchange(
                call: index,
                user: user ?? "",
                authenticatorName: "",
                method: .pap,
                values: .pap(password: password)
            )
            exchanges.append(exchange)
            check(exchange, context: context)
        case .authenticateAck(let text):
            authOutcome = "succeeded"
            authMessage = String(decoding: text, as: UTF8.self)
        case .authenticateNak(let text):
            authOutcome = "failed"
            authMessage = String(decoding: text, as: UTF8.self)
            authFailure = "PAP Authenticate-Nak \(quotedText(text))"
            endEvents.append(
                EndEvent(
                    what: .authenticationFailure,
                    side: sender,
                    frame: currentFrame,
                    time: currentTime,
                    text: "\(sender) refused the PAP password (Authenticate-Nak)"
                )
            )
        case .unknown:
            break
        }
        return .pap(message, identifier: identifier, showPassword: context.options.showSecrets)
    }

    private mutating func chapPacket(
        _ message: CHAPMessage,
        identifier: UInt8,
        sender: PeerSide,
        context: AnalysisContext
    ) -> PPPLine {
        switch message {
        case .challenge(let value, let name):
            authenticator = sender
            authenticatorName = String(decoding: name, as: UTF8.self)
            challenge = (identifier, value)
            if authMethod == nil {
                authMethod = value.count == 8 ? .msCHAPv1 : (value.count == 16 ? .msCHAPv2 : .chapMD5)
            }
        case .response(let value, let name):
            user = String(decoding: name, as: UTF8.self)
            authAttempts += 1
            authOutcome = "not finished"
            var exchange: AuthenticationExchange?
            if let challenge {
                exchange = Self.exchange(
                    call: index,
                    method: authMethod,
                    challenge: challenge,
                    responseIdentifier: identifier,
                    value: value,
                    name: name,
                    authenticatorName: authenticatorName ?? ""
                )
            }
            lastResponse = (identifier, value, exchange)
            if let exchange {
                exchanges.append(exchange)
                check(exchange, context: context)
            }
        case .success(let text):
            authOutcome = "succeeded"
            authMessage = String(decoding: text, as: UTF8.self)
            if authMethod == .msCHAPv2, let hash = verifiedHash, let response = lastResponse?.exchange,
                case .msCHAPv2(let authenticatorChallenge, let peerChallenge, let ntResponse, let userName) = response
                    .values
            {
                // RFC 2759 §5: S= proves that the authenticator knows the password too.
                authenticatorResponseVerified = MSCHAPv2.checkAuthenticatorResponse(
                    Array(text.prefix(42)),
                    passwordHash: hash,
                    ntResponse: ntResponse,
                    peerChallenge: peerChallenge,
                    authenticatorChallenge: authenticatorChallenge,
                    userName: userName
                )
            }
        case .failure(let text):
            return .chap(
                message,
                identifier: identifier,
                msCHAPFailure: failure(text, identifier: identifier, sender: sender)
            )
        case .changePasswordV2, .unknown:
            break
        }
        return .chap(message, identifier: identifier, msCHAPFailure: nil)
    }

    /// A CHAP Failure: the outcome, and for MS-CHAP the parsed error and the retry's challenge (RFC 2759 §6).
    private mutating func failure(_ text: [UInt8], identifier: UInt8, sender: PeerSide) -> MSCHAPFailure? {
        authOutcome = "failed"
        authMessage = String(decoding: text, as: UTF8.self)
        var parsed: MSCHAPFailure?
        if authMethod == .msCHAPv1 || authMethod == .msCHAPv2, let failure = try? MSCHAPFailure(text) {
            parsed = failure
            authFailureCode = failure.error.rawValue
            authFailure =
                "E=\(failure.error)" + (failure.retryAllowed ? ", retry allowed" : "")
                + (failure.message.map { ", message \"\($0)\"" } ?? "")
            if let next = failure.challenge, next.count == MSCHAPv2.challengeLength, authMethod == .msCHAPv2 {
                // RFC 2759 §6: a retry answers the challenge in C=.
                challenge = (identifier &+ 1, next)
            }
        } else {
            authFailure = "CHAP Failure \(quotedText(text))"
        }
        endEvents.append(
            EndEvent(
                what: .authenticationFailure,
                side: sender,
                frame: currentFrame,
                time: currentTime,
                text: "\(sender) refused the \(authMethod?.description ?? "CHAP") response: \(authFailure ?? "failure")"
            )
        )
        return parsed
    }

    /// The exchange a Response completes, typed by method (RFC 1994, RFC 2433 §3, RFC 2759 §4).
    static func exchange(
        call: Int,
        method: AuthenticationMethod?,
        challenge: (identifier: UInt8, value: [UInt8]),
        responseIdentifier: UInt8,
        value: [UInt8],
        name: [UInt8],
        authenticatorName: String
    ) -> AuthenticationExchange? {
        let user = String(decoding: name, as: UTF8.self)
        switch method {
        case .msCHAPv2:
            guard let response = try? MSCHAPv2Response(value), challenge.value.count == MSCHAPv2.challengeLength
            else { return nil }
            return AuthenticationExchange(
                call: call,
                user: user,
                authenticatorName: authenticatorName,
                method: .msCHAPv2,
                values: .msCHAPv2(
                    authenticatorChallenge: challenge.value,
                    peerChallenge: response.peerChallenge,
                    ntResponse: response.ntResponse,
                    userName: name
                )
            )
        case .msCHAPv1:
            guard let response = try? MSCHAPv1Response(value), challenge.value.count == MSCHAPv1.challengeLength
            else { return nil }
            return AuthenticationExchange(
                call: call,
                user: user,
                authenticatorName: authenticatorName,
                method: .msCHAPv1,
                values: .msCHAPv1(challenge: challenge.value, ntResponse: response.ntResponse)
            )
        case .chapMD5:
            return AuthenticationExchange(
                call: call,
                user: user,
                authenticatorName: authenticatorName,
                method: .chapMD5,
                values: .chapMD5(identifier: responseIdentifier, challenge: challenge.value, response: value)
            )
        default:
            return nil
        }
    }

    /// Checks the credentials given against an exchange, before anything is decrypted, and derives the MPPE
    /// keys when they match (RFC 3079 §2.3 for MS-CHAPv1, §3 for MS-CHAPv2).
    private mutating func check(_ exchange: AuthenticationExchange, context: AnalysisContext) {
        guard let credentials = context.options.credentials else { return }
        guard let secret = credentials.secret(user: exchange.user, server: exchange.authenticatorName) else {
            credentialCheck = .noSecretForUser
            credentialDetail =
                "the \(credentials.sourceName) has no secret for user \"\(exchange.user)\""
                + (exchange.authenticatorName.isEmpty ? "" : " and server \"\(exchange.authenticatorName)\"")
            return
        }
        guard let matches = exchange.verify(secret) else {
            credentialCheck = .cannotCheck
            credentialDetail = "an NT hash cannot check \(exchange.method) (it needs the password itself)"
            return
        }
        guard matches else {
            credentialCheck = .mismatched
            verifiedHash = nil
            keyMaterial = nil
            switch exchange.method {
            case .msCHAPv2, .msCHAPv1:
                credentialDetail =
                    "the \(credentials.sourceName) does not give the NT-Response that user \"\(exchange.user)\" sent (\(exchange.method)): it is not the password this client used"
            case .chapMD5:
                credentialDetail =
                    "the password does not give the CHAP-MD5 response that user \"\(exchange.user)\" sent"
            default:
                credentialDetail = "the password is not the one user \"\(exchange.user)\" sent with PAP"
            }
            return
        }
        credentialCheck = .matched
        credentialDetail =
            "the \(credentials.sourceName) matches the \(exchange.method) exchange of user \"\(exchange.user)\""
        verifiedHash = secret.hash
        switch exchange.values {
        case .msCHAPv2(_, _, let ntResponse, _):
            keyMaterial = try? MPPEKeyMaterial.msCHAPv2(
                passwordHash: secret.hash,
                ntResponse: ntResponse,
                isServer: true
            )
        case .msCHAPv1(let challenge, _):
            keyMaterial = try? MPPEKeyMaterial.msCHAPv1(passwordHash: secret.hash, challenge: challenge)
        case .chapMD5, .pap:
            keyMaterial = nil
        }
    }

    // MARK: MPPE and inner packets

    /// A packet of protocol 0x00FD: the MPPE header (RFC 3078 §3.1) and, when the keys are known, the decrypted
    /// packet inside.
    mutating func mppePacket(
        _ information: [UInt8],
        sender: PeerSide,
        direction: FlowDirection,
        held: HeldGREPacket,
        context: AnalysisContext,
        output: inout Output
    ) -> PPPLine {
        guard let header = MPPEHeader(parsing: information) else { return .mppeTruncated(octets: information.count) }
        var counters = mppe[direction] ?? .init()
        counters.encrypted += 1
        if counters.firstCoherencyCount == nil { counters.firstCoherencyCount = header.coherencyCount }
        counters.lastCoherencyCount = header.coherencyCount
        defer { mppe[direction] = counters }
        guard header.encrypted else { return .mppe(header, .notEncrypted) }
        if streams[direction] == nil { streams[direction] = makeStream(for: direction, context: context) }
        guard var stream = streams[direction] else { return .mppe(header, .noKey(octets: information.count - 2)) }
        let outcome = stream.decrypt(header: header, ciphertext: Array(information.dropFirst(2)))
        streams[direction] = stream
        switch outcome {
        case .failed(let error):
            counters.failed += 1
            counters.failures[error.explanation, default: 0] += 1
            return .mppe(header, .failed(error))
        case .decrypted(let plaintext, let late, let skipped):
            counters.skippedCounts += skipped
            guard MPPEStream.looksLikePPP(plaintext),
                let inner = try? plaintext.withUnsafeBytes({ bytes throws(PPPWireError) in
                    try PPPFrameHeader.parse(bytes)
                })
            else {
                counters.invalid += 1
                return .mppe(header, .garbage(octets: plaintext.count))
            }
            counters.decrypted += 1
            if late { counters.late += 1 }
            let body = Array(plaintext.dropFirst(inner.encodedLength))
            let innerLine = innerPacket(
                inner.protocolNumber,
                body,
                direction: direction,
                held: held,
                context: context,
                output: &output
            )
            return .mppe(header, .decrypted(late: late, skippedCounts: skipped, innerLine))
        }
    }

    /// The MPPE receiver for `direction`, when the keys and the negotiated options are known.
    private mutating func makeStream(for direction: FlowDirection, context: AnalysisContext) -> MPPEStream? {
        guard context.options.credentials != nil else { return nil }
        guard credentialCheck == .matched, let material = keyMaterial, let authenticator else {
            if mppeSetupProblem == nil {
                mppeSetupProblem =
                    credentialCheck == .mismatched
                    ? nil : "no MS-CHAP exchange with a matching secret was seen before the encrypted packets"
            }
            return nil
        }
        let receiver: PeerSide = direction == .clientToServer ? .server : .client
        // RFC 3078 §2: the receiver's acknowledged request says what it accepts; both sides end up with the same.
        let options = mppeOptions(of: receiver) ?? mppeOptions(of: receiver.other)
        guard let options else {
            mppeSetupProblem = "CCP did not negotiate MPPE in a part of the capture that was read"
            return nil
        }
        let strength: MPPEKeyStrength
        if options.contains(.bits128) {
            strength = .bits128
        } else if options.contains(.bits56) {
            strength = .bits56
        } else if options.contains(.bits40) {
            strength = .bits40
        } else {
            mppeSetupProblem = "CCP option \(options) names no key strength"
            return nil
        }
        // The authenticator's send key encrypts what the authenticator sends (RFC 3079 §3.3).
        let senderIsAuthenticator = (direction == .clientToServer ? PeerSide.client : .server) == authenticator
        let bytes = senderIsAuthenticator ? material.sendKey : material.receiveKey
        guard let key = try? MPPEMasterKey(bytes: bytes, strength: strength) else { return nil }
        return MPPEStream(
            key: key,
            mode: options.contains(.stateless) ? .stateless : .stateful,
            preferLinuxResets: context.preferLinuxResets,
            lateKeyCacheSize: context.options.lateKeyCacheSize
        )
    }

    /// The MPPE option of `side`'s acknowledged CCP request.
    func mppeOptions(of side: PeerSide) -> MPPEOptions? {
        for raw in ccp.acknowledged[side] ?? [] {
            if case .mppe(let bits) = CCPOption(raw) { return bits }
        }
        return nil
    }

    /// An IP packet found in PPP (clear, or decrypted): counted, described and kept.
    mutating func innerPacket(
        _ number: PPPProtocolNumber,
        _ body: [UInt8],
        direction: FlowDirection,
        held: HeldGREPacket,
        context: AnalysisContext,
        output: inout Output
    ) -> PPPLine {
        let summary: InnerPacketSummary
        switch number {
        case .ipv4: summary = .ipv4(body)
        case .ipv6: summary = .ipv6(body)
        default: return .otherProtocol(number, octets: body.count)
        }
        traffic[direction, default: .init()].ipPackets += 1
        traffic[direction, default: .init()].ipOctets += body.count
        if context.options.collectInnerPackets {
            output.inner.append(
                InnerIPPacket(call: index, direction: direction, time: held.time, frame: held.frame, bytes: body)
            )
        }
        return .ip(summary)
    }
}

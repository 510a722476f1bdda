import MSCrypto
import PPP

extension CallTracker {
    /// The call's report (peers are filled in from the control connection by `ReportAssembly`).
    func report(start: CaptureTimestamp, options: DecodeOptions) -> CallReport {
        CallReport(
            index: index,
            connection: connection,
            kind: kind,
            client: PeerReport(address: clientAddress.description, port: 0),
            server: PeerReport(address: serverAddress.description, port: 0),
            clientCallID: callIDs[.client],
            serverCallID: callIDs[.server],
            setup: setup,
            startOffset: firstTime.seconds(since: start),
            endOffset: lastTime.seconds(since: start),
            durationSeconds: lastTime.seconds(since: firstTime),
            lcp: lcp.report,
            ipcp: ipcp.report,
            ipv6cp: ipv6cp.report,
            ccp: ccp.report,
            framing: framing,
            clientTunnelAddress: tunnelAddress(of: .client),
            serverTunnelAddress: tunnelAddress(of: .server),
            authentication: authenticationReport(options: options),
            mppe: mppeReport(options: options),
            clientToServer: trafficReport(.clientToServer),
            serverToClient: trafficReport(.serverToClient),
            echo: echo.report("LCP Echo"),
            ending: ending(start: start)
        )
    }

    private func trafficReport(_ direction: FlowDirection) -> TrafficReport {
        var report = traffic[direction] ?? TrafficReport()
        report.sequence = sequences[direction]?.report ?? GRESequenceReport()
        return report
    }

    /// The address in `side`'s acknowledged IPCP request (RFC 1332 §3.3).
    private func tunnelAddress(of side: PeerSide) -> String? {
        for raw in ipcp.acknowledged[side] ?? [] {
            if case .ipAddress(let address) = IPCPOption(raw) { return address.description }
        }
        return nil
    }

    /// The framing LCP settled on (RFC 1661 §6.1, §6.5, §6.6; RFC 1662 §7.1).
    private var framing: String? {
        guard lcp.acknowledged[.client] != nil || lcp.acknowledged[.server] != nil else { return nil }
        func describe(_ side: PeerSide) -> String {
            var mru = 1500
            var accm: UInt32?
            var pfc = false
            var acfc = false
            for raw in lcp.acknowledged[side] ?? [] {
                switch LCPOption(raw) {
                case .maximumReceiveUnit(let value): mru = Int(value)
                case .asyncControlCharacterMap(let map): accm = map
                case .protocolFieldCompression: pfc = true
                case .addressAndControlFieldCompression: acfc = true
                default: break
                }
            }
            var parts = ["receives MRU \(mru)"]
            if let accm { parts.append("ACCM 0x\(hex(accm, 8))") }
            parts.append(pfc ? "PFC" : "no PFC")
            parts.append(acfc ? "ACFC" : "no ACFC")
            return "\(side) " + parts.joined(separator: ", ")
        }
        return describe(.client) + "; " + describe(.server)
    }

    private func authenticationReport(options: DecodeOptions) -> AuthenticationReport {
        let check: String
        switch credentialCheck {
        case .notChecked: check = options.credentials == nil ? "not checked (no credentials given)" : "not checked"
        case .matched: check = "password matches"
        case .mismatched: check = "WRONG PASSWORD"
        case .noSecretForUser: check = "no secret for this user"
        case .cannotCheck: check = "cannot check"
        }
        return AuthenticationReport(
            method: authMethod?.description,
            authenticator: authenticator,
            user: user,
            authenticatorName: authenticatorName,
            outcome: authMethod == nil && user == nil ? "none" : authOutcome,
            failure: authFailure,
            failureCode: authFailureCode,
            message: authMessage,
            attempts: authAttempts,
            credentialCheck: check,
            credentialDetail: credentialDetail,
            authenticatorResponseVerified: authenticatorResponseVerified,
            password: options.showSecrets ? papPassword.map { String(decoding: $0, as: UTF8.self) } : nil
        )
    }

    /// The MPPE options both sides settled on.
    var negotiatedMPPE: MPPEOptions? {
        mppeOptions(of: .server) ?? mppeOptions(of: .client)
    }

    private func mppeReport(options: DecodeOptions) -> MPPEReport {
        let client = mppe[.clientToServer] ?? .init()
        let server = mppe[.serverToClient] ?? .init()
        let encrypted = client.encrypted + server.encrypted
        let decrypted = client.decrypted + server.decrypted
        let negotiated = negotiatedMPPE
        var strength: String?
        var mode: String?
        if let negotiated {
            if negotiated.contains(.bits128) {
                strength = "128-bit"
            } else if negotiated.contains(.bits56) {
                strength = "56-bit"
            } else if negotiated.contains(.bits40) {
                strength = "40-bit"
            }
            mode = negotiated.contains(.stateless) ? "stateless" : "stateful"
        }
        let status: String
        var detail: String?
        if negotiated == nil && encrypted == 0 {
            status = "not encrypted"
            detail = ccp.requests == 0 ? "CCP was never negotiated" : "CCP did not agree on MPPE"
        } else if options.credentials == nil {
            status = "not attempted (no password given)"
            detail = "give --password, --secrets or --nt-hash to decrypt \(encrypted) encrypted packets"
        } else {
            switch credentialCheck {
            case .mismatched:
                status = "WRONG PASSWORD"
                detail = (credentialDetail ?? "") + "; nothing was decrypted"
            case .noSecretForUser:
                status = "no keys"
                detail = credentialDetail
            case .cannotCheck, .notChecked:
                status = "no keys"
                detail = mppeSetupProblem ?? "no MS-CHAP exchange was seen, so the MPPE keys cannot be derived"
            case .matched:
                if keyMaterial == nil {
                    status = "no keys"
                    detail = "\(authMethod?.description ?? "this method") gives no MPPE keys"
                } else if decrypted == encrypted {
                    status = "decrypted"
                    detail = "\(decrypted) of \(encrypted) encrypted packets decrypted"
                } else {
                    status = "partly decrypted"
                    detail =
                        "\(decrypted) of \(encrypted) encrypted packets decrypted"
                        + (mppeSetupProblem.map { "; \($0)" } ?? "")
                }
            }
        }
        return MPPEReport(
            negotiated: negotiated != nil,
            strength: strength,
            mode: mode,
            decryption: status,
            detail: detail,
            clientToServer: client,
            serverToClient: server
        )
    }

    /// How the call ended: the cause that matters most first (authentication failure, echo timeout, LCP
    /// Terminate, call clearing, control connection stop, TCP), then every step.
    func ending(start: CaptureTimestamp) -> EndingReport {
        let events = endEvents.sorted { $0.frame < $1.frame }
        let steps = events.map {
            EndingReport.Step(frame: $0.frame, offset: $0.time.seconds(since: start), side: $0.side, text: $0.text)
        }
        func then(after event: EndEvent?) -> String {
            // The steps that say something new: not the acknowledgments and repetitions of LCP Terminate.
            var seen: Set<String> = event.map { [$0.text] } ?? []
            var shown: [String] = []
            for next in events where next.frame > (event?.frame ?? Int.min) {
                if case .lcpTerminateAck = next.what { continue }
                guard seen.insert(next.text).inserted else { continue }
                shown.append(next.text)
            }
            guard !shown.isEmpty else { return "" }
            return "; then " + shown.prefix(4).joined(separator: ", ") + (shown.count > 4 ? ", …" : "")
        }
        func at(_ event: EndEvent) -> String {
            " at \(formatSeconds(event.time.seconds(since: start), decimals: 3)) s (frame \(event.frame))"
        }

        if authOutcome == "failed",
            let failure = events.first(where: { if case .authenticationFailure = $0.what { true } else { false } })
        {
            let who = authenticator ?? failure.side ?? .server
            let summary =
                "Authentication failed: the \(who) rejected \(authMethod?.description ?? "the") user \"\(user ?? "?")\""
                + (authFailure.map { " (\($0))" } ?? "") + at(failure) + then(after: failure)
            return EndingReport(
                cause: .authenticationFailed,
                initiator: who,
                summary: summary,
                brief: "ended by the \(who) after the authentication failed",
                steps: steps
            )
        }
        for side in [PeerSide.server, .client] {
            let run = echo.unansweredRun(of: side)
            guard run.count >= 2, let firstMissed = run.first else { continue }
            let terminate = events.first {
                if case .lcpTerminateRequest = $0.what, $0.side == side, $0.frame > firstMissed.frame { return true }
                return false
            }
            let heard =
                lastHeard[side.other].map {
                    " (the \(side.other) was last heard at \(formatSeconds($0.seconds(since: start), decimals: 3)) s)"
                } ?? ""
            var summary =
                "Echo timeout: the \(side) sent \(run.count) LCP Echo-Requests that were never answered\(heard)"
            if let terminate {
                summary += ", then ended the session: \(terminate.text)" + at(terminate) + then(after: terminate)
            } else {
                summary += then(after: nil)
            }
            return EndingReport(
                cause: .echoTimeout,
                initiator: side,
                summary: summary,
                brief: "ended by the \(side) after \(run.count) unanswered LCP Echo-Requests (echo timeout)",
                steps: steps
            )
        }
        if let first = events.first(where: { if case .lcpTerminateRequest = $0.what { true } else { false } }) {
            let summary =
                "The \(first.side.map { "\($0)" } ?? "peer") ended the PPP session: \(first.text)" + at(first)
                + then(after: first)
            let reason: String
            if case .lcpTerminateRequest(let text) = first.what, !text.isEmpty {
                reason = " \"\(text)\""
            } else {
                reason = ""
            }
            return EndingReport(
                cause: .lcpTerminate,
                initiator: first.side,
                summary: summary,
                brief: "ended by the \(first.side.map { "\($0)" } ?? "peer") (LCP Terminate-Request\(reason))",
                steps: steps
            )
        }
        if let first = events.first {
            let cause: EndingReport.Cause
            switch first.what {
            case .callClearRequest: cause = .callClearRequest
            case .callDisconnectNotify: cause = .callDisconnectNotify
            case .stopControlConnection: cause = .stopControlConnection
            case .tcpFin: cause = .tcpClosed
            case .tcpReset: cause = .tcpReset
            case .lcpTerminateAck, .lcpTerminateRequest, .authenticationFailure: cause = .unknown
            }
            let summary = "Ended without LCP Terminate: \(first.text)" + at(first) + then(after: first)
            return EndingReport(
                cause: cause,
                initiator: first.side,
                summary: summary,
                brief: "ended without LCP Terminate: \(first.text)",
                steps: steps
            )
        }
        if setupFailed {
            return EndingReport(
                cause: .unknown,
                initiator: nil,
                summary: "The call was refused: \(setup ?? "")",
                brief: "call refused",
                steps: steps
            )
        }
        return EndingReport(
            cause: .stillUp,
            initiator: nil,
            summary:
                "Still up when the capture ended (last packet at \(formatSeconds(lastTime.seconds(since: start), decimals: 3)) s)",
            brief: "still up at the end of the capture",
            steps: steps
        )
    }
}

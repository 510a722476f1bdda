import PPTP

/// The control connections of a capture: their message streams, the calls they set up (RFC 2637 §2.7–§2.11)
/// and the routes by Call ID that GRE packets follow to their call (§4.1).
extension CaptureAnalyzer {
    // MARK: Control connection

    mutating func controlData(
        _ key: TCPConnectionKey,
        _ direction: TCPDirection,
        _ bytes: [UInt8],
        frame: Int,
        time: CaptureTimestamp
    ) {
        guard let index = connectionIndex[key] else { return }
        connections[index].lastTime = time
        let outputs = connections[index].streams[direction, default: ControlStream()].append(bytes)
        let sender: PeerSide = direction == .toServer ? .client : .server
        for output in outputs {
            switch output {
            case .message(let message):
                statistics.controlMessages += 1
                connections[index].messages[sender, default: 0] += 1
                controlMessage(message, connection: index, sender: sender, frame: frame, time: time)
            case .rejected(let error):
                statistics.controlMessagesRejected += 1
                streamFinding(
                    .controlMessageRefused(sender: sender, error),
                    sender: sender,
                    connection: index,
                    frame: frame,
                    time: time
                )
            case .framingLost(let error):
                streamFinding(
                    .controlFramingLost(sender: sender, error),
                    sender: sender,
                    connection: index,
                    frame: frame,
                    time: time
                )
            case .resynchronised(let skipped):
                streamFinding(
                    .controlResynchronised(sender: sender, skippedOctets: skipped),
                    sender: sender,
                    connection: index,
                    frame: frame,
                    time: time
                )
            }
        }
    }

    mutating func controlMessage(
        _ message: ControlMessage,
        connection index: Int,
        sender: PeerSide,
        frame: Int,
        time: CaptureTimestamp
    ) {
        var callIndex: Int?
        var note: Finding?
        let receiver = sender.other
        switch message {
        case .startControlConnectionRequest(let m):
            connections[index].update(
                sender,
                hostName: m.hostName.printable,
                vendor: m.vendor.printable,
                firmware: m.firmwareRevision,
                version: m.protocolVersion,
                framing: m.framingCapabilities.description,
                bearer: m.bearerCapabilities.description,
                channels: m.maximumChannels
            )
        case .startControlConnectionReply(let m):
            connections[index].update(
                sender,
                hostName: m.hostName.printable,
                vendor: m.vendor.printable,
                firmware: m.firmwareRevision,
                version: m.protocolVersion,
                framing: m.framingCapabilities.description,
                bearer: m.bearerCapabilities.description,
                channels: m.maximumChannels
            )
            connections[index].setup = "result \(m.resultCode.rawValue) (\(m.resultCode))"
            if m.resultCode != .success { note = .controlConnectionRefused(by: sender, m.resultCode) }
        case .stopControlConnectionRequest(let m):
            let text = "\(sender) sent Stop-Control-Connection-Request (reason \(m.reason.rawValue): \(m.reason))"
            connections[index].stop = text
            endEvent(
                connection: index,
                .stopControlConnection(text: text),
                side: sender,
                frame: frame,
                time: time,
                text: text
            )
        case .stopControlConnectionReply(let m):
            let text =
                "\(sender) answered Stop-Control-Connection-Reply (result \(m.resultCode.rawValue): \(m.resultCode))"
            connections[index].stop = (connections[index].stop.map { $0 + "; " } ?? "") + text
        case .echoRequest(let m):
            connections[index].echo.request(from: sender, identifier: m.identifier, time: time, frame: frame)
        case .echoReply(let m):
            connections[index].echo.reply(from: sender, identifier: m.identifier)
        case .outgoingCallRequest(let m):
            let call = newCall(connection: index, kind: "outgoing", time: time)
            assign(call: call, side: sender, callID: m.callID)
            callIndex = call
        case .outgoingCallReply(let m):
            callIndex =
                findCall(connection: index) { $0.callIDs[receiver] == m.peerCallID && $0.callIDs[sender] == nil }
                ?? newCall(connection: index, kind: "outgoing", time: time, assignedBy: receiver, callID: m.peerCallID)
            if let callIndex {
                assign(call: callIndex, side: sender, callID: m.callID)
                calls[callIndex - 1].setup =
                    "\(sender) answered result \(m.resultCode.rawValue) (\(m.resultCode)), speed \(m.connectSpeed), receive window \(m.receiveWindowSize)"
                if m.resultCode != .connected {
                    calls[callIndex - 1].setupFailed = true
                    note = .outgoingCallRefused(by: sender, m.resultCode)
                }
            }
        case .incomingCallRequest(let m):
            let call = newCall(connection: index, kind: "incoming", time: time)
            assign(call: call, side: sender, callID: m.callID)
            callIndex = call
        case .incomingCallReply(let m):
            callIndex =
                findCall(connection: index) { $0.callIDs[receiver] == m.peerCallID && $0.callIDs[sender] == nil }
                ?? newCall(connection: index, kind: "incoming", time: time, assignedBy: receiver, callID: m.peerCallID)
            if let callIndex {
                assign(call: callIndex, side: sender, callID: m.callID)
                calls[callIndex - 1].setup =
                    "\(sender) answered result \(m.resultCode.rawValue) (\(m.resultCode)), receive window \(m.receiveWindowSize)"
                if m.resultCode != .connect {
                    calls[callIndex - 1].setupFailed = true
                    note = .incomingCallRefused(by: sender, m.resultCode)
                }
            }
        case .incomingCallConnected(let m):
            callIndex = findCall(connection: index) { $0.callIDs[receiver] == m.peerCallID }
            if let callIndex {
                calls[callIndex - 1].setup =
                    (calls[callIndex - 1].setup ?? "")
                    + "; connected at \(m.connectSpeed) bps, framing \(m.framingType)"
            }
        case .callClearRequest(let m):
            // RFC 2637 §2.12: the PNS names the call by its own Call ID.
            callIndex = findCall(connection: index) { $0.callIDs[sender] == m.callID }
            if let callIndex {
                calls[callIndex - 1].endEvents.append(
                    .init(
                        what: .callClearRequest,
                        side: sender,
                        frame: frame,
                        time: time,
                        text: "\(sender) sent Call-Clear-Request"
                    )
                )
            }
        case .callDisconnectNotify(let m):
            // RFC 2637 §2.13: the PAC names the call by its own Call ID.
            callIndex = findCall(connection: index) { $0.callIDs[sender] == m.callID }
            if let callIndex {
                let text = "\(sender) sent Call-Disconnect-Notify (result \(m.resultCode.rawValue): \(m.resultCode))"
                calls[callIndex - 1].endEvents.append(
                    .init(
                        what: .callDisconnectNotify(result: m.resultCode, text: text),
                        side: sender,
                        frame: frame,
                        time: time,
                        text: text
                    )
                )
            }
        case .wanErrorNotify(let m):
            callIndex = findCall(connection: index) { $0.callIDs[receiver] == m.peerCallID }
        case .setLinkInfo(let m):
            callIndex = findCall(connection: index) { $0.callIDs[receiver] == m.peerCallID }
        }
        if let callIndex { calls[callIndex - 1].lastTime = max(calls[callIndex - 1].lastTime, time) }
        line(
            frame: frame,
            time: time,
            connection: index + 1,
            call: callIndex,
            direction: sender.sending,
            .control(message)
        )
        if let note {
            finding(note, frame: frame, time: time, connection: index + 1, call: callIndex, direction: sender.sending)
        }
    }

    func findCall(connection: Int, where predicate: (CallTracker) -> Bool) -> Int? {
        connections[connection].calls.last { predicate(calls[$0 - 1]) }
    }

    mutating func newCall(
        connection: Int,
        kind: String,
        time: CaptureTimestamp,
        assignedBy side: PeerSide? = nil,
        callID: UInt16? = nil
    ) -> Int {
        let key = connections[connection].key
        let index = calls.count + 1
        calls.append(
            CallTracker(
                index: index,
                connection: connection + 1,
                kind: kind,
                client: key.client,
                server: key.server,
                time: time,
                options: options
            )
        )
        connections[connection].calls.append(index)
        if let side, let callID { assign(call: index, side: side, callID: callID) }
        return index
    }

    /// Records the Call ID `side` assigned: GRE sent to `side` carries it (RFC 2637 §4.1).
    mutating func assign(call index: Int, side: PeerSide, callID: UInt16) {
        calls[index - 1].callIDs[side] = callID
        let call = calls[index - 1]
        let destination = side == .client ? call.clientAddress : call.serverAddress
        let source = side == .client ? call.serverAddress : call.clientAddress
        routes[GRERoute(source: source, destination: destination, callID: callID)] = (index, side.other.sending)
    }

    mutating func endEvent(
        connection: Int,
        _ what: CallTracker.EndEvent.What,
        side: PeerSide?,
        frame: Int,
        time: CaptureTimestamp,
        text: String
    ) {
        for call in connections[connection].calls {
            calls[call - 1].endEvents.append(.init(what: what, side: side, frame: frame, time: time, text: text))
        }
    }
}

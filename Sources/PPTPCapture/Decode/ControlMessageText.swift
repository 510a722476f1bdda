import PPTP

/// Control messages in words, with every field that matters and result codes explained (RFC 2637 §2).
enum ControlMessageText {
    /// One line for `message`, e.g. `OCRP call-id=0x3a1 peer-call-id=0x0 result=1 (connected) speed=100000000 …`.
    static func describe(_ message: ControlMessage) -> String {
        switch message {
        case .startControlConnectionRequest(let m):
            return
                "SCCRQ Start-Control-Connection-Request version=\(version(m.protocolVersion)) framing=\(m.framingCapabilities)"
                + " bearer=\(m.bearerCapabilities) max-channels=\(m.maximumChannels) firmware=0x\(hex(m.firmwareRevision, 4))"
                + " host=\(m.hostName) vendor=\(m.vendor)"
        case .startControlConnectionReply(let m):
            return "SCCRP Start-Control-Connection-Reply version=\(version(m.protocolVersion))"
                + " result=\(m.resultCode.rawValue) (\(m.resultCode))\(error(m.errorCode, m.resultCode == .generalError))"
                + " framing=\(m.framingCapabilities) bearer=\(m.bearerCapabilities) max-channels=\(m.maximumChannels)"
                + " firmware=0x\(hex(m.firmwareRevision, 4)) host=\(m.hostName) vendor=\(m.vendor)"
        case .stopControlConnectionRequest(let m):
            return "StopCCRQ Stop-Control-Connection-Request reason=\(m.reason.rawValue) (\(m.reason))"
        case .stopControlConnectionReply(let m):
            return "StopCCRP Stop-Control-Connection-Reply result=\(m.resultCode.rawValue) (\(m.resultCode))"
                + error(m.errorCode, m.resultCode == .generalError)
        case .echoRequest(let m):
            return "Echo-Request id=0x\(hex(m.identifier, 8))"
        case .echoReply(let m):
            return "Echo-Reply id=0x\(hex(m.identifier, 8)) result=\(m.resultCode.rawValue) (\(m.resultCode))"
                + error(m.errorCode, m.resultCode == .generalError)
        case .outgoingCallRequest(let m):
            var text = "OCRQ Outgoing-Call-Request call-id=0x\(hex(m.callID, 4)) serial=\(m.callSerialNumber)"
            text += " bps=\(m.minimumBPS)-\(m.maximumBPS) bearer=\(m.bearerType) framing=\(m.framingType)"
            text += " window=\(m.receiveWindowSize) delay=\(m.processingDelay)"
            if !m.phoneNumber.text.isEmpty { text += " phone=\(m.phoneNumber)" }
            if !m.subaddress.text.isEmpty { text += " subaddress=\(m.subaddress)" }
            return text
        case .outgoingCallReply(let m):
            return "OCRP Outgoing-Call-Reply call-id=0x\(hex(m.callID, 4)) peer-call-id=0x\(hex(m.peerCallID, 4))"
                + " result=\(m.resultCode.rawValue) (\(m.resultCode))\(error(m.errorCode, m.resultCode == .generalError))"
                + (m.causeCode != 0 ? " cause=\(m.causeCode)" : "")
                + " speed=\(m.connectSpeed) window=\(m.receiveWindowSize) delay=\(m.processingDelay)"
                + " channel=\(m.physicalChannelID)"
        case .incomingCallRequest(let m):
            var text = "ICRQ Incoming-Call-Request call-id=0x\(hex(m.callID, 4)) serial=\(m.callSerialNumber)"
            text += " bearer=\(m.bearerType) channel=\(m.physicalChannelID)"
            if !m.dialedNumber.text.isEmpty { text += " dialed=\(m.dialedNumber)" }
            if !m.dialingNumber.text.isEmpty { text += " dialing=\(m.dialingNumber)" }
            if !m.subaddress.text.isEmpty { text += " subaddress=\(m.subaddress)" }
            return text
        case .incomingCallReply(let m):
            return "ICRP Incoming-Call-Reply call-id=0x\(hex(m.callID, 4)) peer-call-id=0x\(hex(m.peerCallID, 4))"
                + " result=\(m.resultCode.rawValue) (\(m.resultCode))\(error(m.errorCode, m.resultCode == .generalError))"
                + " window=\(m.receiveWindowSize) delay=\(m.transmitDelay)"
        case .incomingCallConnected(let m):
            return "ICCN Incoming-Call-Connected peer-call-id=0x\(hex(m.peerCallID, 4)) speed=\(m.connectSpeed)"
                + " window=\(m.receiveWindowSize) delay=\(m.transmitDelay) framing=\(m.framingType)"
        case .callClearRequest(let m):
            return "Call-Clear-Request call-id=0x\(hex(m.callID, 4))"
        case .callDisconnectNotify(let m):
            var text = "Call-Disconnect-Notify call-id=0x\(hex(m.callID, 4))"
            text +=
                " result=\(m.resultCode.rawValue) (\(m.resultCode))\(error(m.errorCode, m.resultCode == .generalError))"
            if m.causeCode != 0 { text += " cause=\(m.causeCode)" }
            if !m.callStatistics.text.isEmpty { text += " statistics=\(m.callStatistics)" }
            return text
        case .wanErrorNotify(let m):
            return
                "WAN-Error-Notify peer-call-id=0x\(hex(m.peerCallID, 4)) crc=\(m.crcErrors) framing=\(m.framingErrors)"
                + " hardware-overruns=\(m.hardwareOverruns) buffer-overruns=\(m.bufferOverruns)"
                + " timeouts=\(m.timeoutErrors) alignment=\(m.alignmentErrors)"
        case .setLinkInfo(let m):
            return "Set-Link-Info peer-call-id=0x\(hex(m.peerCallID, 4)) send-accm=0x\(hex(m.sendACCM, 8))"
                + " receive-accm=0x\(hex(m.receiveACCM, 8))"
        }
    }

    /// `1.0` for 0x0100.
    static func version(_ value: UInt16) -> String {
        "\(value >> 8).\(value & 0xFF)"
    }

    private static func error(_ code: GeneralErrorCode, _ relevant: Bool) -> String {
        // RFC 2637 §2.2: the Error Code is meaningful only when the result is General Error.
        guard relevant || code != .none else { return "" }
        return " error=\(code.rawValue) (\(code))"
    }
}

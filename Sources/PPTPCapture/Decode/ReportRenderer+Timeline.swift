import MSCrypto
import PPP
import PPTP

/// The timeline's events in words: control messages with their fields, PPP packets as pppd's debug log prints
/// them, MPPE with what became of each packet.
extension ReportRenderer {
    /// The text of one timeline line.
    static func words(_ event: TimelineEvent) -> String {
        switch event {
        case .tcpOpened(let connection, let key, let handshake):
            "TCP control connection \(connection) \(key)"
                + (handshake ? " opened (SYN)" : " already open when the capture started")
        case .tcpHalfClosed(let side):
            "TCP FIN: the \(side) closed its side of the control connection"
        case .tcpClosed(let connection):
            "TCP control connection \(connection) closed (FIN both ways)"
        case .tcpReset(let connection):
            "TCP RST: control connection \(connection) reset"
        case .control(let message):
            "PPTP " + ControlMessageText.describe(message)
        case .greAcknowledgmentOnly:
            "GRE acknowledgment only"
        case .ppp(let line):
            words(line)
        case .finding(let finding):
            words(finding)
        }
    }

    /// A finding in words, as the timeline and the problem list show it.
    static func words(_ finding: Finding) -> String {
        switch finding {
        case .tcpGap(let missing, let direction):
            "\(missing) octets of the control connection \(direction) were never captured: messages in them are lost"
        case .controlMessageRefused(let sender, let error):
            "control message from the \(sender) refused: \(error.explanation)"
        case .controlFramingLost(let sender, let error):
            "control stream from the \(sender) lost its framing: \(error.explanation); hunting for the next message"
        case .controlResynchronised(let sender, let skipped):
            "control stream from the \(sender) back in step after skipping \(skipped) octets"
        case .controlConnectionRefused(let side, let result):
            "the \(side) REFUSED the control connection: \(result)"
        case .outgoingCallRefused(let side, let result):
            "the \(side) REFUSED the call: \(result)"
        case .incomingCallRefused(let side, let result):
            "the \(side) REFUSED the incoming call: \(result)"
        case .greNotPPTP(let source, let destination, let error):
            "GRE \(source) > \(destination) not PPTP enhanced GRE: \(error.explanation)"
        }
    }

    /// A PPP packet in words; LCP, the NCPs and CCP as pppd's debug log prints them.
    static func words(_ line: PPPLine) -> String {
        switch line {
        case .frameNotDecoded(let error, let octets):
            return "PPP (not decoded: \(error.explanation), \(octets) octets)"
        case .controlNotDecoded(let number, let error):
            return "\(number) (not decoded: \(error.explanation))"
        case .controlPacketNotDecoded(let number, let code, let identifier, let explanation):
            return "\(number) code=\(code) id=0x\(hex(identifier, 1)) (not decoded: \(explanation))"
        case .lcp(let message, let identifier, let sender):
            let text = message.logDescription(identifier: identifier)
            if case .protocolReject(let rejected, _) = message { return text + " (\(sender) does not run \(rejected))" }
            return text
        case .ipcp(let message, let identifier):
            return message.logDescription(identifier: identifier)
        case .ipv6cp(let message, let identifier):
            return message.logDescription(identifier: identifier)
        case .ccp(let message, let identifier):
            return message.logDescription(identifier: identifier)
        case .pap(let message, let identifier, let showPassword):
            return pap(message, id: "id=0x\(hex(identifier, 1))", showPassword: showPassword)
        case .chap(let message, let identifier, let failure):
            return chap(message, id: "id=0x\(hex(identifier, 1))", failure: failure)
        case .mppeTruncated(let octets):
            return "MPPE (truncated: \(octets) octets)"
        case .mppe(let header, let fate):
            return mppe(header, fate)
        case .ip(let summary):
            return summary.text
        case .otherProtocol(let number, let octets):
            return "PPP protocol \(number) (0x\(hex(number.rawValue, 4))), \(octets) octets"
        }
    }

    private static func pap(_ message: PAPMessage, id: String, showPassword: Bool) -> String {
        switch message {
        case .authenticateRequest(let peerID, let password):
            let shown = showPassword ? quotedText(password) : "<hidden, \(password.count) octets>"
            return "PAP AuthReq \(id) user=\(quotedText(peerID)) password=\(shown)"
        case .authenticateAck(let text):
            return "PAP AuthAck \(id) \(quotedText(text))"
        case .authenticateNak(let text):
            return "PAP AuthNak \(id) \(quotedText(text))"
        case .unknown(let code, let data):
            return "PAP code=\(code.rawValue) \(id) \(data.count) octets"
        }
    }

    private static func chap(_ message: CHAPMessage, id: String, failure: MSCHAPFailure?) -> String {
        switch message {
        case .challenge(let value, let name):
            return "CHAP Challenge \(id) <\(hexString(value))>, name = \(quotedText(name))"
        case .response(let value, let name):
            return "CHAP Response \(id) <\(hexString(value))>, name = \(quotedText(name))"
        case .success(let text):
            return "CHAP Success \(id) \(quotedText(text))"
        case .failure(let text):
            return "CHAP Failure \(id) \(quotedText(text))" + (failure.map { " → \($0)" } ?? "")
        case .changePasswordV2:
            return "CHAP Change-Password \(id) (MS-CHAPv2, encrypted blocks not shown)"
        case .unknown(let code, let data):
            return "CHAP code=\(code.rawValue) \(id) \(data.count) octets"
        }
    }

    private static func mppe(_ header: MPPEHeader, _ fate: MPPEFate) -> String {
        var text = "MPPE ccount=\(header.coherencyCount)"
        if header.flushed { text += " flushed" }
        switch fate {
        case .notEncrypted:
            return text + " (not encrypted: D bit clear; MPPC compression is not decoded)"
        case .noKey(let octets):
            return text + " (encrypted, \(octets) octets)"
        case .failed(let error):
            return text + " NOT DECRYPTED: \(error.explanation)"
        case .garbage(let octets):
            return text + " DECRYPTED INTO GARBAGE (\(octets) octets): wrong key or lost synchronisation"
        case .decrypted(let late, let skipped, let inner):
            if late { text += " (late, key from cache)" }
            if skipped > 0 { text += " (\(skipped) count\(skipped == 1 ? "" : "s") skipped)" }
            return text + " → " + words(inner)
        }
    }
}

import PPP

/// The parts of a `DecodeReport` that look at the whole capture: peers of each call, weaknesses, the overall
/// outcome and the headline.
enum ReportAssembly {
    static func complete(
        _ report: inout DecodeReport,
        calls: [CallTracker],
        options: DecodeOptions,
        fileError: CaptureError?,
        format: CaptureFileFormat?
    ) {
        for index in report.calls.indices {
            guard let connection = report.calls[index].connection, connection >= 1,
                connection <= report.connections.count
            else { continue }
            report.calls[index].client = report.connections[connection - 1].client
            report.calls[index].server = report.connections[connection - 1].server
        }
        if let credentials = options.credentials {
            let checked = calls.filter { $0.credentialCheck != .notChecked }
            let matched = checked.filter { $0.credentialCheck == .matched }
            let summary: String
            if checked.isEmpty {
                summary = "no authentication exchange in the capture to check the \(credentials.sourceName) against"
            } else if matched.count == checked.count {
                summary =
                    "the \(credentials.sourceName) matches \(matched.count == 1 ? "the exchange" : "all \(matched.count) exchanges") seen"
            } else {
                summary = "the \(credentials.sourceName) matches \(matched.count) of \(checked.count) exchanges"
            }
            report.credentials = CredentialReport(
                source: credentials.sourceName,
                checked: checked.count,
                matched: matched.count,
                summary: summary
            )
        }
        report.weaknesses = weaknesses(report.calls, calls: calls, options: options)
        report.outcome = outcome(report, calls: calls, options: options, fileError: fileError, format: format)
        report.headline = headline(report, calls: calls, fileError: fileError)
    }

    static func outcome(
        _ report: DecodeReport,
        calls: [CallTracker],
        options: DecodeOptions,
        fileError: CaptureError?,
        format: CaptureFileFormat?
    ) -> DecodeOutcome {
        if fileError != nil && (format == nil || report.statistics.frames == 0) { return .unreadable }
        if calls.contains(where: { $0.credentialCheck == .mismatched }) { return .wrongCredentials }
        if fileError != nil { return .damaged }
        if options.credentials != nil {
            let undecrypted = report.calls.contains {
                $0.mppe.negotiated && $0.mppe.decryption != "not attempted (no password given)"
                    && ($0.mppe.clientToServer.failed + $0.mppe.serverToClient.failed + $0.mppe.clientToServer.invalid
                        + $0.mppe.serverToClient.invalid > 0
                        || ($0.mppe.decryption == "no keys"
                            && $0.mppe.clientToServer.encrypted + $0.mppe.serverToClient.encrypted > 0))
            }
            if undecrypted { return .undecryptable }
        }
        return .ok
    }

    static func headline(_ report: DecodeReport, calls: [CallTracker], fileError: CaptureError?) -> [String] {
        var lines: [String] = []
        let name = report.file.path ?? "the capture"
        if report.outcome == .unreadable, let fileError {
            return ["CANNOT READ \(name): \(fileError.explanation)"]
        }
        if let fileError {
            lines.append(
                "DAMAGED CAPTURE: \(fileError.explanation). The \(report.statistics.frames) frames before the damage are decoded below."
            )
        }
        for call in calls where call.credentialCheck == .mismatched {
            lines.append(
                "WRONG PASSWORD for call \(call.index): \(call.credentialDetail ?? "the credentials do not match"). Nothing was decrypted."
            )
        }
        for call in report.calls {
            var parts: [String] = []
            let auth = call.authentication
            switch auth.outcome {
            case "succeeded":
                parts.append("\(auth.method ?? "authentication") user \"\(auth.user ?? "?")\" authenticated")
            case "failed":
                parts.append(
                    "AUTHENTICATION FAILED: \(auth.method ?? "") user \"\(auth.user ?? "?")\""
                        + (auth.failure.map { " rejected with \($0)" } ?? "")
                )
            case "not finished":
                parts.append(
                    "\(auth.method ?? "authentication") of user \"\(auth.user ?? "?")\" not finished in the capture"
                )
            default:
                parts.append(call.lcp.opened ? "no authentication" : "LCP not opened")
            }
            let mppe = call.mppe
            let encrypted = mppe.clientToServer.encrypted + mppe.serverToClient.encrypted
            let decrypted = mppe.clientToServer.decrypted + mppe.serverToClient.decrypted
            if mppe.negotiated || encrypted > 0 {
                var text = "MPPE \(mppe.strength ?? "?") \(mppe.mode ?? "")"
                switch mppe.decryption {
                case "decrypted", "partly decrypted": text += ", \(decrypted) of \(encrypted) packets decrypted"
                case "not attempted (no password given)":
                    text += ", \(encrypted) packets encrypted (give --password to decrypt)"
                case "WRONG PASSWORD": text += ", nothing decrypted (wrong password)"
                default: text += ", not decrypted: \(mppe.detail ?? mppe.decryption)"
                }
                parts.append(text)
            } else if call.ipcp.opened || call.clientToServer.ipPackets + call.serverToClient.ipPackets > 0 {
                parts.append("NOT ENCRYPTED")
            }
            parts.append("\(formatSeconds(call.durationSeconds, decimals: 1)) s")
            parts.append(call.ending.brief)
            lines.append(
                "Call \(call.index) (client \(call.client.address) ↔ server \(call.server.address)): "
                    + parts.joined(separator: "; ")
            )
        }
        if report.calls.isEmpty {
            lines.append(
                "No PPTP call found: \(report.connections.count) control connection(s), \(report.statistics.greDatagrams) GRE packet(s) in \(report.statistics.frames) frames."
            )
        }
        let serious = report.weaknesses.filter { $0.severity == .critical || $0.severity == .high }
        if let first = serious.first {
            lines.append("\(serious.count) serious weakness\(serious.count == 1 ? "" : "es"), first: \(first.title)")
        }
        return lines
    }

    static func weaknesses(_ reports: [CallReport], calls: [CallTracker], options: DecodeOptions) -> [WeaknessReport] {
        var result: [WeaknessReport] = []
        for (report, call) in zip(reports, calls) {
            let user = report.authentication.user.map { "\"\($0)\"" } ?? "(unknown)"
            switch call.authMethod {
            case .pap:
                var detail = "PAP (RFC 1334) sends the password as it is; anyone who sees this traffic reads it."
                if let password = report.authentication.password {
                    detail += " The password of \(user) is \"\(password)\"."
                } else {
                    detail += " Run with --show-secrets to print it."
                }
                detail += " Require MS-CHAPv2 at least, and better leave PPTP for IKEv2/IPsec or WireGuard."
                result.append(
                    .init(
                        severity: .critical,
                        call: report.index,
                        title: "PAP: the password of user \(user) is in clear text in this capture",
                        detail: detail
                    )
                )
            case .chapMD5:
                result.append(
                    .init(
                        severity: .high,
                        call: report.index,
                        title:
                            "CHAP-MD5: the captured challenge and response allow an offline dictionary attack on the password of \(user)",
                        detail:
                            "CHAP with MD5 (RFC 1994) proves the password with MD5(Identifier ‖ secret ‖ challenge): every guess can be checked offline against this capture, at billions per second on a GPU. It also yields no MPPE keys, so the session cannot be encrypted."
                    )
                )
            case .msCHAPv1:
                result.append(
                    .init(
                        severity: .high,
                        call: report.index,
                        title: "MS-CHAPv1 in use (user \(user)): the NT hash can be recovered from this capture",
                        detail:
                            "MS-CHAPv1 (RFC 2433) answers the 8-octet challenge with three DES encryptions under 7-octet pieces of the NT hash. The third piece has only 2^16 values and the other two fall to a 2^56 DES search, with no password guessing at all. The NT hash is a password equivalent, and with it the MPPE key of the whole session (the same in both directions, RFC 3079 §2) follows. MS-CHAPv1 also allowed LAN Manager responses and password changes with weak encryption."
                    )
                )
            case .msCHAPv2:
                result.append(
                    .init(
                        severity: .high,
                        call: report.index,
                        title:
                            "MS-CHAPv2 handshake of user \(user) visible: an offline single-DES search recovers the NT hash",
                        detail:
                            "MS-CHAPv2 (RFC 2759 §8.1) reduces to ChallengeResponse: three DES encryptions of the 8-octet challenge hash under the three 7-octet pieces of the NT hash. The third DES key has only 2^16 possible values (found from the capture alone in a fraction of a second); the first two are each a 56-bit DES key, found by one 2^56 search (the \"divide and conquer\" of chapcrack and crack.sh, about a day on dedicated hardware), whatever the password's strength. The NT hash logs in as the user and gives every MPPE key of this session (RFC 3079 §3), so all its traffic can be decrypted afterwards. Move to a VPN with a real key exchange (IKEv2/IPsec, WireGuard, OpenVPN)."
                    )
                )
            case .eap, nil:
                break
            }
            let mppe = report.mppe
            if !mppe.negotiated
                && (report.ipcp.opened || report.clientToServer.ipPackets + report.serverToClient.ipPackets > 0)
            {
                result.append(
                    .init(
                        severity: .high,
                        call: report.index,
                        title: "No encryption: MPPE was not negotiated, the tunnel carries its traffic in clear",
                        detail:
                            "CCP did not agree on MPPE (RFC 3078), so every packet inside the tunnel (\(report.clientToServer.ipPackets + report.serverToClient.ipPackets) IP packets here) is readable and modifiable by anyone on the path. Require MPPE-128 (pppd: require-mppe-128) or better, leave PPTP."
                    )
                )
            }
            if mppe.negotiated {
                switch mppe.strength {
                case "40-bit":
                    result.append(
                        .init(
                            severity: .high,
                            call: report.index,
                            title: "MPPE 40-bit: the session keys can be found by exhaustive search",
                            detail:
                                "40-bit MPPE keys (RFC 3079 §3.1) are 8 octets whose first three are the constant 0xD1269E: 2^40 keys, searched in hours on one computer, without knowing the password. Require 128-bit keys."
                        )
                    )
                case "56-bit":
                    result.append(
                        .init(
                            severity: .high,
                            call: report.index,
                            title: "MPPE 56-bit: the session keys can be found by exhaustive search",
                            detail:
                                "56-bit MPPE keys (RFC 3079 §3.2) have the first octet fixed to 0xD1: 2^56 keys, within reach of dedicated hardware. Require 128-bit keys."
                        )
                    )
                default:
                    break
                }
                if mppe.mode == "stateful" {
                    result.append(
                        .init(
                            severity: .medium,
                            call: report.index,
                            title:
                                "Stateful MPPE: keys change only every 256 packets, and one lost packet stalls the flow",
                            detail:
                                "In stateful mode (RFC 3078 §7.2) the RC4 state runs across packets and the key changes every 256 packets; after a loss the receiver discards everything until a Reset-Request is answered (§8.2). Stateless mode (the H bit) is what Windows and pppd use."
                        )
                    )
                }
                result.append(
                    .init(
                        severity: .medium,
                        call: report.index,
                        title: "MPPE gives no integrity and no forward secrecy",
                        detail:
                            "MPPE is bare RC4 (RFC 3078): bits of the ciphertext can be flipped without detection, and its keys come from the NT hash and the captured MS-CHAP exchange, so whoever learns the password or the NT hash later can decrypt this capture."
                    )
                )
            }
        }
        return result
    }
}

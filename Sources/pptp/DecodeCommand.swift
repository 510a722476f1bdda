import ArgumentParser
import Foundation
import MSCrypto
import NIOCore
import PPP
import PPTPCapture

/// `pptp decode FILE`: the timeline, session report and weaknesses of a captured PPTP session, decrypted when the
/// password is known.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Show what happened in a captured PPTP session, and decrypt it when the password is known.",
        discussion: """
            Reads a pcap or pcapng file (Ethernet, Linux cooked or raw IP) and follows every PPTP control \
            connection and call: control messages, GRE sequencing, the PPP negotiation as pppd logs it, the \
            authentication, MPPE, the inner traffic, and how each call ended. With the password (or the NT hash, \
            or a chap-secrets file) the MPPE keys are derived from the MS-CHAP exchange in the capture and both \
            directions are decrypted. A wrong password is detected before anything is decrypted.

            EXIT CODES
              0  decoded; every encrypted packet that could be decrypted was
              1  the file cannot be read, or is not a capture
              2  the capture is damaged or truncated; what was read before the damage is shown
              3  the password, NT hash or secrets do not match the authentication in the capture; nothing was decrypted
              4  the credentials matched but some encrypted packets could not be decrypted
              64 bad command line
            """
    )

    @Argument(help: "The capture file (pcap or pcapng).")
    var file: String

    @Option(name: .long, help: "The password of the user in the capture (MS-CHAP, CHAP-MD5 or PAP).")
    var password: String?

    @Option(name: .long, help: "A chap-secrets file (client server secret [addresses]) with the users' passwords.")
    var secrets: String?

    @Option(
        name: .customLong("nt-hash"),
        help: "The NT password hash (32 hex digits) of the user, instead of the password."
    )
    var ntHash: String?

    @Flag(name: .customLong("show-secrets"), help: "Print PAP passwords and passwords found in the word list.")
    var showSecrets = false

    @Flag(name: .long, help: "Print the whole report as JSON instead of text.")
    var json = false

    @Option(
        name: .customLong("write-inner"),
        help: "Write the decrypted inner IP packets to this pcap file (link type raw IP)."
    )
    var writeInner: String?

    @Option(name: .long, help: "Try every line of this file as the password against the captured authentication.")
    var wordlist: String?

    func validate() throws {
        let given = [password != nil, secrets != nil, ntHash != nil].filter { $0 }.count
        guard given <= 1 else {
            throw ValidationError("Give at most one of --password, --secrets and --nt-hash.")
        }
        if let ntHash {
            guard let bytes = parseHex(ntHash.filter { $0 != ":" }), bytes.count == 16 else {
                throw ValidationError("--nt-hash needs 32 hexadecimal digits (16 octets).")
            }
        }
    }

    func run() throws {
        var options = DecodeOptions(showSecrets: showSecrets, path: file)
        options.credentials = try credentials()
        options.collectInnerPackets = writeInner != nil

        let bytes: ByteBuffer
        do {
            bytes = try CaptureFile.read(path: file)
        } catch {
            let report = CaptureDecoder.decode(path: file, options: options)
            try emit(report)
            throw ExitCode(Int32(report.outcome.rawValue))
        }
        var report = CaptureDecoder.decode(bytes, options: options)
        if let wordlist {
            let list: ByteBuffer
            do {
                list = try CaptureFile.read(path: wordlist)
            } catch {
                throw ValidationError("Cannot read the word list \(wordlist): \(error.explanation)")
            }
            let candidates = PasswordSearch.candidates(fromWordList: Array(list.readableBytesView))
            if writeInner != nil { options.collectInnerPackets = true }
            CaptureDecoder.searchWordList(
                candidates,
                report: &report,
                bytes: bytes,
                options: options,
                clock: ContinuousClock()
            )
        }
        if let writeInner {
            if report.outcome == .wrongCredentials {
                // No garbage: nothing decrypted, nothing written.
                FileHandle.standardError.write(Data("pptp decode: wrong password, \(writeInner) not written\n".utf8))
            } else {
                do {
                    try CaptureFile.write(try CaptureDecoder.innerPcap(report), to: writeInner)
                    if !json {
                        FileHandle.standardError.write(
                            Data(
                                "pptp decode: wrote \(report.innerPackets.count) inner IP packets to \(writeInner)\n"
                                    .utf8
                            )
                        )
                    }
                } catch {
                    throw ValidationError("Cannot write \(writeInner): \(error.explanation)")
                }
            }
        }
        try emit(report)
        if report.outcome != .ok { throw ExitCode(Int32(report.outcome.rawValue)) }
    }

    private func credentials() throws -> DecodeCredentials? {
        if let password { return .password(password) }
        if let ntHash, let bytes = parseHex(ntHash.filter { $0 != ":" }) {
            return .ntHash(try NTPasswordHash(bytes: bytes))
        }
        if let secrets {
            do {
                let text = try CaptureFile.read(path: secrets)
                // What is wrong in the file is said, and the rest is used (as pppd skips short lines).
                let parsed = ChapSecrets.lenient(String(decoding: text.readableBytesView, as: UTF8.self), path: secrets)
                for problem in parsed.problems {
                    FileHandle.standardError.write(Data("pptp decode: \(problem) (line skipped)\n".utf8))
                }
                return .secrets(parsed)
            } catch {
                throw ValidationError("Cannot read the secrets file \(secrets): \(error.explanation)")
            }
        }
        return nil
    }

    private func emit(_ report: DecodeReport) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
            var data = try encoder.encode(report)
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
        } else {
            FileHandle.standardOutput.write(Data(ReportRenderer.render(report).utf8))
        }
    }
}

import NIOCore

/// Reads a capture and analyses it in one call: `CaptureReader` and `CaptureAnalyzer` composed, plus the
/// word-list search and the export of the inner traffic. What `pptp decode` runs.
public enum CaptureDecoder {
    /// Decodes a capture held in memory.
    public static func decode(_ bytes: ByteBuffer, options: DecodeOptions = DecodeOptions()) -> DecodeReport {
        var reader = CaptureReader(bytes: bytes)
        var analyzer = CaptureAnalyzer(options: options)
        while let event = reader.nextEvent() {
            analyzer.receive(event)
        }
        return analyzer.finish(format: reader.format, statistics: reader.statistics, fileError: reader.fileError)
    }

    /// Decodes the capture file at `path`. A file that cannot be read at all gives a report whose outcome is
    /// `.unreadable`, with the reason in the headline.
    public static func decode(path: String, options: DecodeOptions = DecodeOptions()) -> DecodeReport {
        var options = options
        if options.path == nil { options.path = path }
        do {
            return decode(try CaptureFile.read(path: path), options: options)
        } catch {
            var analyzer = CaptureAnalyzer(options: options)
            return analyzer.finish(format: nil, statistics: CaptureStatistics(), fileError: error)
        }
    }

    /// Runs a word list against the exchanges of `report` and records the result in it. When a password is found
    /// and no credentials were given, the capture is decoded again with it, so that its traffic is decrypted.
    public static func searchWordList<C: Clock>(
        _ candidates: [[UInt8]],
        report: inout DecodeReport,
        bytes: ByteBuffer,
        options: DecodeOptions,
        clock: C
    ) where C.Duration == Duration {
        var search = PasswordSearch(exchanges: report.exchanges)
        let result = search.run(candidates: candidates, clock: clock, showSecrets: options.showSecrets)
        var found = search.foundPasswords
        if options.credentials == nil, let first = found.first {
            var again = options
            again.credentials = .password(first.password)
            report = decode(bytes, options: again)
            found.removeAll()
        }
        report.passwordSearch = result
        for item in result.results where item.found {
            let shown = item.password.map { "\"\($0)\"" } ?? "(run with --show-secrets to print it)"
            report.weaknesses.insert(
                WeaknessReport(
                    severity: .critical,
                    call: item.call,
                    title: "Password of user \"\(item.user)\" found in the word list: \(shown)",
                    detail:
                        "Candidate \(item.candidateNumber ?? 0) of the list gives the \(item.method) response captured. Anyone with this capture and a word list logs in as this user\(item.method.hasPrefix("MS-CHAP") ? " and decrypts the session" : ""). Change the password, and stop using PPTP."
                ),
                at: 0
            )
            report.headline.insert(
                "PASSWORD FOUND in the word list for user \"\(item.user)\" (call \(item.call), \(item.method)): \(shown)",
                at: 0
            )
        }
    }

    /// The inner IP packets of `report` as a pcap file: link type raw IP (101), the capture times of the frames
    /// that carried them. Wireshark and tshark open it.
    public static func innerPcap(_ report: DecodeReport) throws(CaptureError) -> ByteBuffer {
        var writer = PcapWriter(linkType: .raw, resolution: .microseconds)
        for packet in report.innerPackets {
            try writer.write(packet: packet.bytes, timestamp: packet.time)
        }
        return writer.bytes
    }
}

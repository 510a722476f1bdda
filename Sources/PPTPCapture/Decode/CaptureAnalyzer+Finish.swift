import NIOCore
import PPP
import PPTP

/// The end of an analysis: what is still held is processed, and the report is assembled.
extension CaptureAnalyzer {

    /// Ends the analysis and builds the report. `fileError` is the damage that stopped reading, if any.
    public mutating func finish(
        format: CaptureFileFormat?,
        statistics captureStatistics: CaptureStatistics,
        fileError: CaptureError?
    ) -> DecodeReport {
        let context = self.context
        for index in calls.indices {
            let output = calls[index].flush(context: context)
            absorb(output, call: index + 1)
        }
        timeline.sort { ($0.frame, $0.order) < ($1.frame, $1.order) }
        let start = firstTime ?? .zero
        statistics.frames = captureStatistics.frames
        statistics.malformedFrames = captureStatistics.malformedFrames
        statistics.ipDatagrams = captureStatistics.ipDatagrams
        statistics.ipFragments = captureStatistics.fragments.fragments
        statistics.pppParseErrors = calls.reduce(0) { $0 + $1.pppErrors }
        statistics.innerIPPackets = calls.reduce(0) {
            $0 + ($1.traffic[.clientToServer]?.ipPackets ?? 0) + ($1.traffic[.serverToClient]?.ipPackets ?? 0)
        }
        if problemsDropped > 0 {
            problems.append(
                ProblemReport(severity: .warning, frame: nil, text: "\(problemsDropped) more problems not listed")
            )
        }
        let file = FileReport(
            path: options.path,
            format: format.map(Self.describe),
            frames: captureStatistics.frames,
            firstTime: firstTime,
            lastTime: lastTime,
            durationSeconds: (lastTime ?? start).seconds(since: start),
            damage: fileError.map(\.explanation)
        )
        var report = DecodeReport(file: file, statistics: statistics)
        if let fileError {
            let text =
                format == nil || captureStatistics.frames == 0
                ? "CANNOT READ: \(fileError.explanation)"
                : "DAMAGED CAPTURE: \(fileError.explanation). Everything up to frame \(captureStatistics.frames) was read and is shown."
            report.problems.append(ProblemReport(severity: .error, frame: nil, text: text))
        }
        report.problems += problems
        report.connections = connections.map { $0.report(start: start) }
        report.calls = calls.map { $0.report(start: start, options: options) }
        report.timeline = timeline.map(\.entry)
        report.innerPackets = inner
        report.exchanges = calls.flatMap(\.exchanges)
        ReportAssembly.complete(&report, calls: calls, options: options, fileError: fileError, format: format)
        return report
    }

    static func describe(_ format: CaptureFileFormat) -> String {
        switch format {
        case .pcap(let header):
            "pcap, link type \(header.linkType), \(header.resolution == .microseconds ? "microsecond" : "nanosecond") timestamps"
        case .pcapng:
            "pcapng"
        }
    }
}

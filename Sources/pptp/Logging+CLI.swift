import ArgumentParser
import Foundation
import Logging

/// Shared by the long-running subcommands: log level and a logger that writes to standard error.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var level: String = "info"

    @Flag(name: [.short, .customLong("verbose")], help: "Same as --log-level debug.")
    var verbose = false

    func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : (Logger.Level(rawValue: level) ?? .info)
        return logger
    }
}

/// Exit codes shared by the network subcommands.
enum CommonExit {
    /// Needs root (CAP_NET_ADMIN for TUN devices and routes, CAP_NET_RAW for the GRE socket).
    static let notRoot: Int32 = 77
    static let configuration: Int32 = 2
}

func isRoot() -> Bool { geteuid() == 0 }

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

// The parts of a `DecodeReport` that judge the capture or sum it up: weaknesses, problems, what the
// credentials did, the word-list search, the totals.

/// How bad a weakness is (the JSON report says it as the raw value).
public enum WeaknessSeverity: String, Codable, Hashable, Sendable {
    case critical, high, medium, info
}

/// How bad a problem of reading the capture is.
public enum ProblemSeverity: String, Codable, Hashable, Sendable {
    /// Part of the capture could not be read at all.
    case error
    /// Something was read with a doubt, or skipped.
    case warning
}

/// A weakness of the authentication or encryption seen.
public struct WeaknessReport: Codable, Hashable, Sendable {
    public var severity: WeaknessSeverity
    /// The call, when it is about one.
    public var call: Int?
    /// One line.
    public var title: String
    /// What it means and what to do.
    public var detail: String
}

/// Something that kept the decoder from reading part of the capture.
public struct ProblemReport: Codable, Hashable, Sendable {
    public var severity: ProblemSeverity
    /// The frame, when known.
    public var frame: Int?
    /// In words, with the exact numbers.
    public var text: String
}

/// What was done with the credentials given.
public struct CredentialReport: Codable, Hashable, Sendable {
    /// "password", "secrets file", "NT hash", "word list".
    public var source: String
    /// Exchanges the credentials were checked against.
    public var checked: Int
    /// Of those, where they matched.
    public var matched: Int
    /// In words.
    public var summary: String
}

/// The result of a word-list search against the authentication exchanges of the capture.
public struct PasswordSearchReport: Codable, Hashable, Sendable {
    /// Candidates tried (for all exchanges together).
    public var candidatesTried: Int
    /// Seconds the search took.
    public var seconds: Double
    /// Candidates per second.
    public var candidatesPerSecond: Double
    /// One result per exchange.
    public var results: [PasswordSearchResult]
}

/// The outcome of a word-list search against one exchange.
public struct PasswordSearchResult: Codable, Hashable, Sendable {
    /// The call.
    public var call: Int
    /// The user.
    public var user: String
    /// "MS-CHAPv2", "MS-CHAPv1", "CHAP-MD5", "PAP".
    public var method: String
    /// The password was in the list.
    public var found: Bool
    /// Its position in the list (from 1).
    public var candidateNumber: Int?
    /// The password, only with `showSecrets`.
    public var password: String?
}

/// Counters over the whole capture.
public struct StatisticsReport: Codable, Hashable, Sendable {
    public var frames = 0
    public var malformedFrames = 0
    public var ipDatagrams = 0
    public var ipFragments = 0
    public var greDatagrams = 0
    public var greNotPPTP = 0
    public var greUnmatched = 0
    public var controlMessages = 0
    public var controlMessagesRejected = 0
    public var tcpGaps = 0
    public var tcpGapOctets = 0
    public var pppParseErrors = 0
    public var innerIPPackets = 0
}

/// A decrypted (or clear) inner IP packet with the time of the GRE packet that carried it.
public struct InnerIPPacket: Hashable, Sendable {
    /// The call.
    public var call: Int
    /// Which way it went.
    public var direction: FlowDirection
    /// Capture time of the carrying frame.
    public var time: CaptureTimestamp
    /// The frame.
    public var frame: Int
    /// The IP packet.
    public var bytes: [UInt8]
}

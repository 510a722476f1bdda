/// The capture time of a frame: seconds since the Unix epoch plus nanoseconds.
///
/// Kept as two integers so that nanosecond pcap files and pcapng files with fine `if_tsresol` keep every digit;
/// `timeInterval` gives a `Double` when that is good enough.
public struct CaptureTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01 00:00:00 UTC.
    public var seconds: Int64
    /// Nanoseconds past `seconds`, always in `0 ..< 1_000_000_000`.
    public var nanoseconds: UInt32

    /// The epoch itself, used for frames that carry no time (pcapng Simple Packet Blocks before any other packet).
    public static let zero = CaptureTimestamp(seconds: 0, nanoseconds: 0)

    /// Creates a timestamp; `nanoseconds` of a second or more carry into `seconds`.
    public init(seconds: Int64, nanoseconds: UInt32) {
        let carry = Int64(nanoseconds / 1_000_000_000)
        self.seconds = seconds.addingReportingOverflow(carry).overflow ? Int64.max : seconds &+ carry
        self.nanoseconds = nanoseconds % 1_000_000_000
    }

    /// The timestamp as a `Double` number of seconds (loses precision below about a microsecond in this century).
    public var timeInterval: Double {
        Double(seconds) + Double(nanoseconds) / 1e9
    }

    /// The time from `self` to `later` (negative when `later` is earlier).
    public func duration(to later: CaptureTimestamp) -> Duration {
        let wholeSeconds = later.seconds.subtractingReportingOverflow(seconds)
        if wholeSeconds.overflow {
            return later.seconds < seconds ? .seconds(Int64.min) : .seconds(Int64.max)
        }
        return .seconds(wholeSeconds.partialValue) + .nanoseconds(Int64(later.nanoseconds) - Int64(nanoseconds))
    }

    /// The timestamp `duration` later (saturating at the ends of the representable range).
    public func advanced(by duration: Duration) -> CaptureTimestamp {
        let (durationSeconds, attoseconds) = duration.components
        let extraNanoseconds = Int64(nanoseconds) + attoseconds / 1_000_000_000
        // extraNanoseconds is in -1e9 ... 2e9; normalise to a non-negative remainder.
        let carry =
            extraNanoseconds >= 0
            ? extraNanoseconds / 1_000_000_000 : -((999_999_999 - extraNanoseconds) / 1_000_000_000)
        let remainder = extraNanoseconds - carry * 1_000_000_000
        let total = seconds.addingReportingOverflow(durationSeconds)
        if total.overflow {
            return durationSeconds > 0
                ? CaptureTimestamp(seconds: .max, nanoseconds: 999_999_999)
                : CaptureTimestamp(seconds: .min, nanoseconds: 0)
        }
        let withCarry = total.partialValue.addingReportingOverflow(carry)
        if withCarry.overflow {
            return carry > 0
                ? CaptureTimestamp(seconds: .max, nanoseconds: 999_999_999)
                : CaptureTimestamp(seconds: .min, nanoseconds: 0)
        }
        return CaptureTimestamp(seconds: withCarry.partialValue, nanoseconds: UInt32(truncatingIfNeeded: remainder))
    }

    public static func < (lhs: CaptureTimestamp, rhs: CaptureTimestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// Seconds and nine fractional digits, e.g. `1795741697.880360000`.
    public var description: String {
        let fraction = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }
}

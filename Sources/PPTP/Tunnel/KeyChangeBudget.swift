import MSCrypto
import NIOCore

/// How much MPPE key-change work a call spends on frames that turn out forged.
///
/// A stateless receiver performs one key change per coherency count a frame is ahead (RFC 3078
/// §8.1) before it can see that the plaintext is not the peer's; a blind attacker picks the count,
/// so one forged frame 2047 ahead costs 2047 key changes, about 1.1 ms of a core
/// (MSCryptoBenchmarks), and a thousand such frames a second a whole core. Two bounds keep that
/// work small without costing real traffic:
/// - a frame may be at most as many counts ahead as its GRE sequence number is ahead, plus a
///   slack (each MPPE frame is one GRE packet; a sender may lose an encrypted frame before it
///   gets a sequence number, as Linux's pptp does when routing fails);
/// - beyond `cheapJump` key changes, a frame is tried only while the budget lasts. The budget is
///   charged for refused frames only and refills at `refillPerSecond`, so a real burst loss
///   recovers at once, and under a flood of forged frames it recovers within seconds.
public struct KeyChangeBudget: Hashable, Sendable {
    /// Key changes any frame may cost.
    public static let cheapJump = 64
    /// Counts a genuine frame may be ahead of what its GRE sequence number says.
    public static let slack = 16
    public static let capacity = 8192
    public static let refillPerSecond = 8192

    private var tokens = KeyChangeBudget.capacity
    private var refilled: NIODeadline?
    /// Frames that would have needed more than `cheapJump` key changes and were refused untried.
    public private(set) var refusedUntried = 0

    public init() {}

    /// The key changes a frame `greDistance` sequence numbers ahead may cost now.
    public mutating func allowance(greDistance: Int, now: NIODeadline) -> Int {
        refill(now: now)
        let bound = min(max(greDistance, 1) + Self.slack, MPPEDecryptor.defaultMaximumForwardJump)
        return tokens >= bound ? bound : min(bound, Self.cheapJump)
    }

    /// A frame was refused after `keyChanges` key changes.
    public mutating func charge(_ keyChanges: Int) {
        tokens = max(0, tokens - keyChanges)
    }

    /// A frame was refused because it was further ahead than `allowance` allowed.
    public mutating func refusedWithoutTrying() {
        refusedUntried += 1
    }

    private mutating func refill(now: NIODeadline) {
        guard let last = refilled else {
            refilled = now
            return
        }
        let elapsed = (now - last).nanoseconds
        guard elapsed > 0 else { return }
        let earned = Int(min(Int64(Self.capacity), elapsed * Int64(Self.refillPerSecond) / 1_000_000_000))
        guard earned > 0 else { return }
        tokens = min(Self.capacity, tokens + earned)
        refilled = now
    }
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014):
/// a small deterministic generator. `PPPSession` seeds one per sub-machine from its injected
/// generator, so that each owns its own stream and a test seed reproduces a whole session; tests,
/// fuzz targets and benchmarks use it to replay exactly.
///
/// Not a source of secrets by itself: when the injected generator is the system CSPRNG the seeds
/// are unpredictable and so are the challenges drawn from them (SplitMix64 of an unknown 64-bit
/// seed is as good as that seed for the 16-octet challenges of MS-CHAP, whose security rests on
/// the password, not on the challenge).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The RC4 stream cipher ("ARCFOUR"), as MPPE (RFC 3078 §5–§7) and MS-CHAPv2 password change (RFC 2759 §8.11)
/// use it.
///
/// The permutation S is stored inline (256 32-bit entries, a homogeneous tuple), so an `RC4` is a plain value:
/// creating, re-keying and running it never allocates. `process` XORs the keystream into a buffer in place;
/// encryption and decryption are the same operation.
///
/// Why it is shaped as it is (measured on AMD Zen 3 against OpenSSL's assembly, see docs/benchmarks.md):
/// - 32-bit entries: byte-sized entries were about 30 % slower (the same observation made OpenSSL choose
///   `RC4_INT = unsigned int` on x86-64).
/// - The loops run in static functions on a raw pointer with `i` and `j` in local variables. A closure that
///   captured `j` kept it in memory, one store and reload per byte, and cost a third of the speed.
/// - 32 bytes per iteration (about 3 % faster than 16, 8 % faster than 8): the indices of a block are a base plus
///   constants, reduced modulo 256 only in the one block in eight that crosses the end of the table; the keystream
///   is gathered into `UInt64` words and XORed into the buffer eight bytes at a time.
/// - The key schedule for the 8- and 16-byte MPPE keys takes the key bytes from two registers; it is about 1.5×
///   faster than OpenSSL's generic `RC4_set_key`, which matters because stateless MPPE runs two per packet.
///
/// The state is derived from a key, so `description` does not show it.
public struct RC4: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    typealias Row = (
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
        UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32
    )
    typealias Table = (Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row)

    /// The identity permutation S[k] = k that every key schedule starts from; copying it is one 1 KiB move.
    private static let identity: Table = {
        let zero: Row = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var table: Table = (
            zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero
        )
        withState(&table) { s in
            for index in 0..<256 {
                s[index] = UInt32(index)
            }
        }
        return table
    }()

    private var table: Table
    /// RC4's `i`: the index used by the last byte produced (0…255).
    private var i: UInt32 = 0
    /// RC4's `j` (0…255).
    private var j: UInt32 = 0

    /// Keys RC4 with `key` (1 to 256 bytes); nil for an empty or longer key, for which RC4 is not defined.
    public init?(key: some Collection<UInt8>) {
        let bytes = Array(key)
        guard let rc4 = bytes.withUnsafeBytes({ RC4(key: $0) }) else { return nil }
        self = rc4
    }

    /// Keys RC4 with the bytes of `key` (1 to 256 bytes); nil for an empty or longer key.
    public init?(key: UnsafeRawBufferPointer) {
        guard (1...256).contains(key.count), let keyBase = key.baseAddress else { return nil }
        self.table = Self.identity
        let keyCount = key.count
        Self.withState(&self.table) { s in
            // The key-scheduling algorithm: j += S[i] + K[i mod keylen]; swap(S[i], S[j]).
            var j: UInt32 = 0
            var k = 0
            for index in 0..<256 {
                let si = s[index]
                j = (j &+ si &+ UInt32(keyBase.load(fromByteOffset: k, as: UInt8.self))) & 0xFF
                k &+= 1
                if k == keyCount { k = 0 }
                s[index] = s[Int(j)]
                s[Int(j)] = si
            }
        }
    }

    /// Keys RC4 with the first `keyLength` bytes of `key`, where `keyLength` is 8 or 16 (the MPPE key sizes).
    init(key: Bytes16, keyLength: Int) {
        self.table = Self.identity
        self.rekey(key, keyLength: keyLength)
    }

    /// Re-runs the key schedule in place with an MPPE session key of 8 or 16 bytes (RFC 3078 §5, §7.3).
    mutating func rekey(_ key: Bytes16, keyLength: Int) {
        self.table = Self.identity
        self.i = 0
        self.j = 0
        let words = key.withUnsafeBytes { raw in
            (
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
        // An 8-byte key repeats every 8 rounds, so its second half is its first half.
        let high = keyLength == 16 ? words.1 : words.0
        Self.withState(&self.table) { s in
            Self.schedule(s, words.0, high)
        }
    }

    /// The key schedule with the 16 key bytes packed little-endian in `low` and `high`.
    @inline(__always)
    private static func schedule(_ s: UnsafeMutablePointer<UInt32>, _ low: UInt64, _ high: UInt64) {
        var j: UInt32 = 0
        var base = 0
        while base < 256 {
            var key = low
            for offset in 0..<8 {
                let index = base &+ offset
                let si = s[index]
                j = (j &+ si &+ UInt32(truncatingIfNeeded: key & 0xFF)) & 0xFF
                key &>>= 8
                s[index] = s[Int(j)]
                s[Int(j)] = si
            }
            key = high
            for offset in 8..<16 {
                let index = base &+ offset
                let si = s[index]
                j = (j &+ si &+ UInt32(truncatingIfNeeded: key & 0xFF)) & 0xFF
                key &>>= 8
                s[index] = s[Int(j)]
                s[Int(j)] = si
            }
            base &+= 16
        }
    }

    /// XORs the next `buffer.count` keystream bytes into `buffer`, in place.
    public mutating func process(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        let count = buffer.count
        let start = (self.i, self.j)
        let end = Self.withState(&self.table) { s in
            Self.crypt(s, base, count, start.0, start.1)
        }
        self.i = end.0
        self.j = end.1
    }

    /// XORs the keystream into `bytes`, in place.
    public mutating func process(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { self.process($0) }
    }

    /// The pseudo-random generation algorithm over `count` bytes at `base`, from state (`i`, `j`); returns the
    /// new (`i`, `j`).
    @inline(__always)
    private static func crypt(
        _ s: UnsafeMutablePointer<UInt32>,
        _ base: UnsafeMutableRawPointer,
        _ count: Int,
        _ startI: UInt32,
        _ startJ: UInt32
    ) -> (UInt32, UInt32) {
        var j = startJ
        var offset = 0
        // The table index of the next byte, i + 1.
        var index = Int((startI &+ 1) & 0xFF)
        while count &- offset >= 32 {
            // Only a block that crosses the end of the table needs its indices reduced modulo 256.
            if index <= 256 - 32 {
                block32(s, base, offset, index, &j, wraps: false)
            } else {
                block32(s, base, offset, index, &j, wraps: true)
            }
            offset &+= 32
            index = (index &+ 32) & 0xFF
        }
        while count &- offset >= 8 {
            xor(base, offset, block8(s, index, &j, wraps: true))
            offset &+= 8
            index = (index &+ 8) & 0xFF
        }
        while offset < count {
            let stream = UInt8(truncatingIfNeeded: step(s, index, &j))
            let data = base.load(fromByteOffset: offset, as: UInt8.self)
            base.storeBytes(of: data ^ stream, toByteOffset: offset, as: UInt8.self)
            offset &+= 1
            index = (index &+ 1) & 0xFF
        }
        return (UInt32(truncatingIfNeeded: index &- 1) & 0xFF, j)
    }

    /// 32 bytes: four runs of `block8`, XORed into the buffer at `offset`. Written out rather than as a loop,
    /// which the optimiser did not unroll.
    @inline(__always)
    private static func block32(
        _ s: UnsafeMutablePointer<UInt32>,
        _ base: UnsafeMutableRawPointer,
        _ offset: Int,
        _ index: Int,
        _ j: inout UInt32,
        wraps: Bool
    ) {
        let first = block8(s, index, &j, wraps: wraps)
        let second = block8(s, index &+ 8, &j, wraps: wraps)
        let third = block8(s, index &+ 16, &j, wraps: wraps)
        let fourth = block8(s, index &+ 24, &j, wraps: wraps)
        xor(base, offset, first)
        xor(base, offset &+ 8, second)
        xor(base, offset &+ 16, third)
        xor(base, offset &+ 24, fourth)
    }

    /// XORs eight keystream bytes (little-endian in `stream`) into the buffer at `offset`.
    @inline(__always)
    private static func xor(_ base: UnsafeMutableRawPointer, _ offset: Int, _ stream: UInt64) {
        let data = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        base.storeBytes(of: (data ^ stream).littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    /// Eight keystream bytes for table indices `index` … `index + 7` (modulo 256 when `wraps`), assembled
    /// little-endian so that byte k of the word goes with buffer byte k. Entries are below 256, so each value
    /// fits its byte lane without masking.
    @inline(__always)
    private static func block8(
        _ s: UnsafeMutablePointer<UInt32>,
        _ index: Int,
        _ j: inout UInt32,
        wraps: Bool
    ) -> UInt64 {
        var stream: UInt64 = 0
        for k in 0..<8 {
            let position = wraps ? (index &+ k) & 0xFF : index &+ k
            stream |= UInt64(step(s, position, &j)) &<< UInt64(8 &* k)
        }
        return stream
    }

    /// One step of the pseudo-random generation algorithm for `index` = i + 1: j += S[i]; swap(S[i], S[j]);
    /// output S[S[i] + S[j]].
    @inline(__always)
    private static func step(_ s: UnsafeMutablePointer<UInt32>, _ index: Int, _ j: inout UInt32) -> UInt32 {
        let si = s[index]
        j = (j &+ si) & 0xFF
        let sj = s[Int(j)]
        s[Int(j)] = si
        s[index] = sj
        return s[Int((si &+ sj) & 0xFF)]
    }

    /// Runs `body` on the permutation as a pointer to its 256 entries.
    @inline(__always)
    private static func withState<R>(_ table: inout Table, _ body: (UnsafeMutablePointer<UInt32>) -> R) -> R {
        withUnsafeMutablePointer(to: &table) { pointer in
            // A homogeneous tuple of UInt32 is laid out as 256 contiguous UInt32 values.
            pointer.withMemoryRebound(to: UInt32.self, capacity: 256, body)
        }
    }

    public var description: String { "RC4(\(redacted))" }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

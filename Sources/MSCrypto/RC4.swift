/// The RC4 stream cipher ("ARCFOUR"), as MPPE (RFC 3078 §5–§7) and MS-CHAPv2 password change (RFC 2759 §8.11) use it.
///
/// The 256-byte permutation is stored inline, so an `RC4` is a plain value: creating, re-keying and running it
/// never allocates. `process` XORs the keystream into a buffer in place; encryption and decryption are the same
/// operation. The hot loop works on raw pointers (no bounds checks, no retain/release) and produces eight keystream
/// bytes per iteration into one `UInt64`, so the data buffer is read and written eight bytes at a time.
///
/// The state is derived from a key, so `description` does not show it.
public struct RC4: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// 16 × 16 bytes: a homogeneous tuple, which Swift lays out contiguously.
    typealias Row = (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
    )
    typealias Table = (Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row, Row)

    private static let zeroRow: Row = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// The identity permutation S[k] = k that every key schedule starts from; copying it is one 256-byte move.
    private static let identity: Table = {
        var table: Table = (
            zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow,
            zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow, zeroRow
        )
        withUnsafeMutableBytes(of: &table) { bytes in
            for index in 0..<256 {
                bytes[index] = UInt8(truncatingIfNeeded: index)
            }
        }
        return table
    }()

    private var table: Table
    private var i: UInt8 = 0
    private var j: UInt8 = 0

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
        let keyBytes = keyBase.assumingMemoryBound(to: UInt8.self)
        let keyCount = key.count
        Self.withState(&self.table) { s in
            // The key-scheduling algorithm: j += S[i] + K[i mod keylen]; swap(S[i], S[j]).
            var j: UInt8 = 0
            var k = 0
            for i in 0..<256 {
                let si = s[i]
                j = j &+ si &+ keyBytes[k]
                k &+= 1
                if k == keyCount { k = 0 }
                s[i] = s[Int(j)]
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
    ///
    /// Specialised for the two key sizes: the key bytes live in two registers and the 256 rounds are unrolled
    /// sixteen at a time, so the loop is only the data-dependent `j` chain and the swaps.
    @inline(__always)
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
        let low = words.0
        // An 8-byte key repeats every 8 rounds, so its second half is its first half.
        let high = keyLength == 16 ? words.1 : words.0
        Self.withState(&self.table) { s in
            var j: UInt8 = 0
            var base = 0
            while base < 256 {
                Self.scheduleEight(s, base, &j, low)
                Self.scheduleEight(s, base &+ 8, &j, high)
                base &+= 16
            }
        }
    }

    /// Eight key-schedule rounds starting at `base` with the eight key bytes packed in `key`.
    @inline(__always)
    private static func scheduleEight(_ s: UnsafeMutablePointer<UInt8>, _ base: Int, _ j: inout UInt8, _ key: UInt64) {
        var key = key
        for offset in 0..<8 {
            let index = base &+ offset
            let si = s[index]
            j = j &+ si &+ UInt8(truncatingIfNeeded: key)
            key >>= 8
            s[index] = s[Int(j)]
            s[Int(j)] = si
        }
    }

    /// XORs the next `buffer.count` keystream bytes into `buffer`, in place.
    public mutating func process(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        var i = self.i
        var j = self.j
        let count = buffer.count
        Self.withState(&self.table) { s in
            var offset = 0
            // Eight keystream bytes per iteration, assembled little-endian so that byte k of the word lines up
            // with buffer byte offset + k.
            while count &- offset >= 8 {
                var stream: UInt64 = 0
                for shift in stride(from: 0 as UInt64, to: 64, by: 8) {
                    stream |= UInt64(Self.next(s, &i, &j)) &<< shift
                }
                let data = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                base.storeBytes(of: (data ^ stream).littleEndian, toByteOffset: offset, as: UInt64.self)
                offset &+= 8
            }
            while offset < count {
                let byte = base.load(fromByteOffset: offset, as: UInt8.self)
                base.storeBytes(of: byte ^ Self.next(s, &i, &j), toByteOffset: offset, as: UInt8.self)
                offset &+= 1
            }
        }
        self.i = i
        self.j = j
    }

    /// XORs the keystream into `bytes`, in place.
    public mutating func process(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { self.process($0) }
    }

    /// One step of the pseudo-random generation algorithm: i += 1; j += S[i]; swap; output S[S[i] + S[j]].
    @inline(__always)
    private static func next(_ s: UnsafeMutablePointer<UInt8>, _ i: inout UInt8, _ j: inout UInt8) -> UInt8 {
        i = i &+ 1
        let si = s[Int(i)]
        j = j &+ si
        let sj = s[Int(j)]
        s[Int(i)] = sj
        s[Int(j)] = si
        return s[Int(si &+ sj)]
    }

    /// Runs `body` on the permutation as a pointer to its 256 bytes.
    @inline(__always)
    private static func withState<R>(_ table: inout Table, _ body: (UnsafeMutablePointer<UInt8>) -> R) -> R {
        withUnsafeMutablePointer(to: &table) { pointer in
            // A homogeneous tuple of UInt8 is laid out as 256 contiguous UInt8 values.
            pointer.withMemoryRebound(to: UInt8.self, capacity: 256, body)
        }
    }

    public var description: String { "RC4(\(redacted))" }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

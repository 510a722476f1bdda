/// Whether MPPE changes its key on every packet (RFC 3078 §7.1) or keeps RC4 state across packets (§7.2).
public enum MPPEMode: Hashable, Sendable, CustomStringConvertible {
    /// History-less mode, the H bit of the CCP option (RFC 3078 §2, §7.1): a key change before every packet and
    /// the FLUSHED bit on every packet, so a lost packet costs nothing but itself. What Windows and pppd use.
    case stateless
    /// Stateful mode (RFC 3078 §7.2, §8.2): a key change every 256 packets; after a loss the receiver asks for a
    /// CCP Reset-Request and discards packets until one with the FLUSHED bit arrives.
    case stateful

    public var description: String {
        switch self {
        case .stateless: "stateless"
        case .stateful: "stateful"
        }
    }
}

/// What a stateful sender does when it receives a CCP Reset-Request, and so what its peer's receiver must do on
/// a FLUSHED packet. Both ends must agree; it makes no difference in stateless mode.
public enum MPPEResetBehaviour: Hashable, Sendable {
    /// RFC 3078 §8.2: re-initialise RC4 with the current session key ("rc4_key(RC4Key, Length_Of_Key,
    /// SessionKey)") and set FLUSHED on the next packet; the receiver does the same on a FLUSHED packet.
    case reinitialise
    /// The Linux kernel's ppp_mppe (and so pppd): a full key change on Reset-Request, and on every FLUSHED packet
    /// the receiver changes its key once. Choose it for a stateful peer that runs Linux.
    ///
    /// Known weakness of this scheme: if the FLUSHED packet that answers a Reset-Request is itself lost, the
    /// sender has changed its key once more than the receiver can know about, and from then on the receiver
    /// decrypts noise without any way to notice (MPPE has no integrity check). `.reinitialise` has no such
    /// problem, because a reset does not change the key.
    case changeKey
}

/// The 12-bit coherency count space (RFC 3078 §3.1: after 4095 it resets to 0).
let coherencySpace: UInt16 = 4096

/// Whether `count` is a "flag" packet, on which a stateful sender changes its key (RFC 3078 §7.2).
@inline(__always)
func isFlagPacket(_ count: UInt16) -> Bool {
    count & 0xFF == 0xFF
}

/// The MPPE sender of one direction (RFC 3078): encrypts packets in place and produces their MPPE headers.
///
/// The plaintext of an MPPE packet is the PPP protocol field (one or two bytes) followed by the payload
/// (RFC 3078 §3.1); the caller encrypts that in place with `encrypt(_:)`, then writes the returned header and the
/// protocol 0x00FD in front of it. Nothing allocates per packet.
public struct MPPEEncryptor: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Stateless or stateful.
    public let mode: MPPEMode
    /// The reaction to a CCP Reset-Request in stateful mode.
    public let resetBehaviour: MPPEResetBehaviour
    private var keys: MPPEKeySchedule
    private var rc4: RC4
    /// Coherency count of the last packet sent; 4095 before the first, so that the first packet carries 0.
    public private(set) var coherencyCount: UInt16 = coherencySpace - 1
    /// Set by `reset()`: the next packet carries FLUSHED.
    private var flushPending = false

    /// An encryptor starting from `key` (this end's send key), with the initial session key of RFC 3079.
    public init(key: MPPEMasterKey, mode: MPPEMode, resetBehaviour: MPPEResetBehaviour = .reinitialise) {
        self.mode = mode
        self.resetBehaviour = resetBehaviour
        self.keys = MPPEKeySchedule(masterKey: key)
        self.rc4 = RC4(key: self.keys.sessionKey, keyLength: self.keys.keyLength)
    }

    /// The strength of the key.
    public var strength: MPPEKeyStrength { self.keys.strength }

    /// Encrypts `plaintext` (the PPP protocol field and payload) in place and returns the header to send with it.
    public mutating func encrypt(_ plaintext: UnsafeMutableRawBufferPointer) -> MPPEHeader {
        // RFC 3078 §3.1: "incremented by 1 for each packet sent. When the counter reaches 4095 ... reset to 0".
        self.coherencyCount = (self.coherencyCount &+ 1) & MPPEHeader.countMask
        let flushed: Bool
        switch self.mode {
        case .stateless:
            // RFC 3078 §7.1: "the sender MUST change its key before encrypting and transmitting each packet";
            // §3.1: FLUSHED "MUST be set on every encrypted packet" in stateless mode.
            self.keys.changeKey()
            self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
            flushed = true
        case .stateful:
            if isFlagPacket(self.coherencyCount) {
                // RFC 3078 §7.2: change the key before sending a flag packet. FLUSHED is set too: RC4 starts
                // afresh, and the Linux receiver only changes its key on a flag packet when FLUSHED is set.
                self.keys.changeKey()
                self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
                flushed = true
            } else if self.flushPending {
                switch self.resetBehaviour {
                case .reinitialise:
                    // RFC 3078 §8.2: "re-initialize its own RC4 tables using the same method", i.e. with the
                    // current session key (the tables were re-initialised already by `reset()`).
                    break
                case .changeKey:
                    self.keys.changeKey()
                    self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
                }
                flushed = true
            } else {
                flushed = false
            }
        }
        self.flushPending = false
        self.rc4.process(plaintext)
        return MPPEHeader(flushed: flushed, encrypted: true, coherencyCount: self.coherencyCount)
    }

    /// Encrypts `plaintext` in place; see `encrypt(_: UnsafeMutableRawBufferPointer)`.
    public mutating func encrypt(_ plaintext: inout [UInt8]) -> MPPEHeader {
        plaintext.withUnsafeMutableBytes { self.encrypt($0) }
    }

    /// Handles a received CCP Reset-Request (RFC 3078 §8.2): the sender "MUST re-initialize its own RC4 tables
    /// ... and set the FLUSHED bit in the next packet sent". A no-op in stateless mode, where every packet is
    /// flushed anyway.
    public mutating func reset() {
        guard self.mode == .stateful else { return }
        if self.resetBehaviour == .reinitialise {
            self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
        }
        self.flushPending = true
    }

    public var description: String {
        "MPPEEncryptor(\(self.strength), \(self.mode), count=\(self.coherencyCount), key=\(redacted))"
    }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Why `MPPEDecryptor` did not decrypt a packet. The packet was left untouched and must be dropped.
public enum MPPEError: Error, Hashable, Sendable {
    /// Bit D is clear (RFC 3078 §3.1): the packet claims not to be encrypted. After MPPE is negotiated every
    /// packet of protocol 0x00FD must be.
    case notEncrypted
    /// Stateless mode, FLUSHED bit clear: RFC 3078 §3.1 says it "MUST be set on every encrypted packet".
    case flushedBitMissing
    /// The packet has the coherency count of the newest packet already accepted, or of a late packet already
    /// decrypted from the key cache: a duplicate or replay.
    case duplicate(coherencyCount: UInt16)
    /// The packet is `behind` packets older than the newest one accepted and its key is no longer known (stateless
    /// mode without a key cache entry for it, or stateful mode).
    case late(coherencyCount: UInt16, behind: Int)
    /// The coherency count is `distance` ahead of the last accepted packet, more than `maximumForwardJump`.
    case tooFarAhead(coherencyCount: UInt16, distance: Int)
    /// Stateful mode: a coherency count was skipped, so packets were lost (RFC 3078 §8.2). The caller must send a
    /// CCP Reset-Request "without data"; packets are then discarded until one with FLUSHED arrives.
    case lossDetected(expected: UInt16, received: UInt16)
    /// Stateful mode, after a loss: a packet without FLUSHED, silently discarded (RFC 3078 §8.2) while the peer
    /// has not yet answered the Reset-Request.
    case awaitingFlushedPacket
    /// The plaintext failed the caller's check (`decrypt(header:ciphertext:accept:)`): a forged packet, or one
    /// not meant for this key. The key and coherency count are as before the packet (MPPE has no integrity check
    /// of its own, so this is how a forged coherency count is kept from moving the key on). In stateful mode the
    /// RC4 state is spent: the decryptor waits for a FLUSHED packet, and the caller sends a CCP Reset-Request, as
    /// after `lossDetected`.
    case implausiblePlaintext(coherencyCount: UInt16)
}

/// How a packet was decrypted.
public enum MPPEDecryption: Hashable, Sendable {
    /// In order: newer than every packet accepted before it. `skipped` counts the coherency counts jumped over
    /// (packets lost or still in flight): always 0 in stateful mode except when resynchronising after a FLUSHED
    /// packet.
    case inOrder(skipped: Int)
    /// Stateless mode only: older than the newest accepted packet, decrypted with a key from the late-key cache.
    case late
}

/// The MPPE receiver of one direction (RFC 3078 §7–§8): checks the coherency count, changes keys to keep up with
/// the sender, and decrypts packets in place. Nothing allocates per packet.
///
/// Stateless mode (§8.1): a packet `n` counts ahead of the last accepted one costs `n` key changes. A jump of more
/// than `maximumForwardJump` is refused (`.tooFarAhead`); a packet 2048 or more counts "ahead" is taken to be
/// behind instead, since the count wraps at 4096, as in the Linux kernel, which discards such "late" packets.
/// With a late-key cache of `lateKeyCacheSize` entries the session keys of the most recent counts are kept, so
/// that a packet overtaken by a newer one (GRE reordering, as in capture 10) can still be decrypted, once.
///
/// Stateful mode (§8.2): any gap makes `decrypt` return `.lossDetected` once, upon which the caller sends a CCP
/// Reset-Request; later packets are refused with `.awaitingFlushedPacket` until one with FLUSHED arrives, which
/// resynchronises the count, performs the key changes of the flag packets that were missed, and is decrypted.
/// Late or duplicate packets are refused without losing synchronisation, since they consume no keystream.
public struct MPPEDecryptor: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Default for `maximumForwardJump`: half the coherency space. A packet further ahead is indistinguishable
    /// from a late one, and the Linux kernel draws the same line.
    public static let defaultMaximumForwardJump = 2048

    /// Stateless or stateful.
    public let mode: MPPEMode
    /// The peer sender's reaction to Reset-Request in stateful mode (see `MPPEResetBehaviour`).
    public let resetBehaviour: MPPEResetBehaviour
    /// Largest number of coherency counts a packet may be ahead of the last accepted one.
    public let maximumForwardJump: Int
    private var keys: MPPEKeySchedule
    private var rc4: RC4
    /// Coherency count of the last accepted packet; 4095 before the first, so that the first expected is 0.
    public private(set) var coherencyCount: UInt16 = coherencySpace - 1
    /// Key changes the last `decrypt` made (stateless mode), accepted or not.
    public private(set) var lastKeyChanges = 0
    /// Stateful mode: a loss was detected and no FLUSHED packet has arrived since.
    public private(set) var awaitingFlush = false
    /// Packets discarded since the loss (or the last repeated request) while waiting for FLUSHED.
    private var discardedWhileAwaiting = 0
    /// A loss is reported again after this many packets discarded waiting for FLUSHED: the FLUSHED
    /// packet that answers a Reset-Request can be lost too, and with one request only the stream
    /// would stay dark for good (pppd resends its Reset-Request until it is acknowledged).
    public static let discardsBeforeRepeatingReset = 16
    private var cache: LateKeyCache

    /// A decryptor starting from `key` (this end's receive key).
    ///
    /// - Parameters:
    ///   - maximumForwardJump: 1…4095, clamped; stateless mode performs at most this many key changes per packet.
    ///   - lateKeyCacheSize: stateless mode only; how many recent keys to keep for late packets (0 disables).
    public init(
        key: MPPEMasterKey,
        mode: MPPEMode,
        resetBehaviour: MPPEResetBehaviour = .reinitialise,
        maximumForwardJump: Int = MPPEDecryptor.defaultMaximumForwardJump,
        lateKeyCacheSize: Int = 0
    ) {
        self.mode = mode
        self.resetBehaviour = resetBehaviour
        self.maximumForwardJump = min(max(maximumForwardJump, 1), Int(coherencySpace) - 1)
        self.keys = MPPEKeySchedule(masterKey: key)
        self.rc4 = RC4(key: self.keys.sessionKey, keyLength: self.keys.keyLength)
        self.cache = LateKeyCache(capacity: mode == .stateless ? min(max(lateKeyCacheSize, 0), 2048) : 0)
    }

    /// The strength of the key.
    public var strength: MPPEKeyStrength { self.keys.strength }

    /// Checks `header` and, if the packet is acceptable, decrypts `ciphertext` (everything after the MPPE header)
    /// in place. On failure `ciphertext` is unchanged.
    public mutating func decrypt(
        header: MPPEHeader,
        ciphertext: UnsafeMutableRawBufferPointer
    ) -> Result<MPPEDecryption, MPPEError> {
        self.decrypt(header: header, ciphertext: ciphertext, accept: { _ in true })
    }

    /// Decrypts tentatively: `accept` sees the plaintext (decrypted in place) and says whether it is a packet the
    /// peer could have sent; the key, the coherency count, the late-key cache and the stateful RC4 state change
    /// only when it does. Otherwise the result is `.implausiblePlaintext` and `ciphertext` holds the rejected
    /// plaintext. Refusals that need no decryption leave `ciphertext` unchanged, as above.
    ///
    /// `maximumKeyChanges` bounds the work of this one packet in stateless mode: a packet further ahead is
    /// refused as `.tooFarAhead` before any key change (a forged count 2047 ahead costs 2047 key changes,
    /// about 1.1 ms; MSCryptoBenchmarks measures it). `lastKeyChanges` says how many the last call made.
    public mutating func decrypt(
        header: MPPEHeader,
        ciphertext: UnsafeMutableRawBufferPointer,
        maximumKeyChanges: Int = .max,
        accept: (UnsafeRawBufferPointer) -> Bool
    ) -> Result<MPPEDecryption, MPPEError> {
        self.lastKeyChanges = 0
        guard header.encrypted else { return .failure(.notEncrypted) }
        switch self.mode {
        case .stateless:
            return self.decryptStateless(header, ciphertext, min(maximumKeyChanges, maximumForwardJump), accept)
        case .stateful: return self.decryptStateful(header, ciphertext, accept)
        }
    }

    /// Decrypts `ciphertext` in place; see `decrypt(header:ciphertext:)` on a raw buffer.
    public mutating func decrypt(header: MPPEHeader, ciphertext: inout [UInt8]) -> Result<MPPEDecryption, MPPEError> {
        ciphertext.withUnsafeMutableBytes { self.decrypt(header: header, ciphertext: $0) }
    }

    /// Forward distance from the last accepted count to `count`, 0…4095.
    @inline(__always)
    private func distance(to count: UInt16) -> Int {
        Int((count &- self.coherencyCount) & MPPEHeader.countMask)
    }

    /// Whether a packet `distance` ahead is to be read as behind (late): more than the allowed jump and in the
    /// older half of the coherency space.
    @inline(__always)
    private func isBehind(_ distance: Int) -> Bool {
        distance > self.maximumForwardJump && distance >= Int(coherencySpace) / 2
    }

    private mutating func decryptStateless(
        _ header: MPPEHeader,
        _ ciphertext: UnsafeMutableRawBufferPointer,
        _ allowedJump: Int,
        _ accept: (UnsafeRawBufferPointer) -> Bool
    ) -> Result<MPPEDecryption, MPPEError> {
        guard header.flushed else { return .failure(.flushedBitMissing) }
        let count = header.coherencyCount
        let distance = self.distance(to: count)
        if distance == 0 {
            return .failure(.duplicate(coherencyCount: count))
        }
        if distance <= allowedJump {
            // RFC 3078 §8.1: "the receiver MUST perform N = C1 - C2 key changes before decrypting the packet".
            // The old schedule is kept, so that a packet whose plaintext is refused moves nothing. The RC4 table is
            // re-keyed for every stateless packet, so it is free to use.
            let saved = self.keys
            for _ in 0..<distance {
                self.keys.changeKey()
            }
            self.lastKeyChanges = distance
            self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
            self.rc4.process(ciphertext)
            guard accept(UnsafeRawBufferPointer(ciphertext)) else {
                self.keys = saved
                return .failure(.implausiblePlaintext(coherencyCount: count))
            }
            if distance == 1 || self.cache.capacity == 0 {
                self.cache.store(self.keys.sessionKey, for: count, used: true)
            } else {
                // Packets were skipped: their keys go into the late-key cache, stepped again from the old key
                // (only after a loss, and only for a packet that proved itself).
                var stepper = saved
                for step in 1...distance {
                    stepper.changeKey()
                    let stepCount = (self.coherencyCount &+ UInt16(step)) & MPPEHeader.countMask
                    self.cache.store(stepper.sessionKey, for: stepCount, used: step == distance)
                }
            }
            self.coherencyCount = count
            return .success(.inOrder(skipped: distance - 1))
        }
        guard self.isBehind(distance) else {
            return .failure(.tooFarAhead(coherencyCount: count, distance: distance))
        }
        let behind = Int(coherencySpace) - distance
        switch self.cache.peek(count, behind: behind) {
        case .key(let key):
            var late = RC4(key: key, keyLength: self.keys.keyLength)
            late.process(ciphertext)
            guard accept(UnsafeRawBufferPointer(ciphertext)) else {
                return .failure(.implausiblePlaintext(coherencyCount: count))
            }
            self.cache.markUsed(count)
            return .success(.late)
        case .alreadyUsed:
            return .failure(.duplicate(coherencyCount: count))
        case .unknown:
            return .failure(.late(coherencyCount: count, behind: behind))
        }
    }

    private mutating func decryptStateful(
        _ header: MPPEHeader,
        _ ciphertext: UnsafeMutableRawBufferPointer,
        _ accept: (UnsafeRawBufferPointer) -> Bool
    ) -> Result<MPPEDecryption, MPPEError> {
        let count = header.coherencyCount
        let distance = self.distance(to: count)
        // A duplicate or late packet consumed no keystream at the sender after the packets already accepted, so
        // refusing it keeps the tables in step; only a gap forces a reset.
        if distance == 0 {
            return .failure(.duplicate(coherencyCount: count))
        }
        if self.isBehind(distance) {
            return .failure(.late(coherencyCount: count, behind: Int(coherencySpace) - distance))
        }
        if !self.awaitingFlush {
            guard distance == 1 else {
                // RFC 3078 §8.2: "If packet loss is detected ... the receiver MUST drop the packet and send a CCP
                // Reset-Request packet without data."
                self.awaitingFlush = true
                self.discardedWhileAwaiting = 0
                let expected = (self.coherencyCount &+ 1) & MPPEHeader.countMask
                return .failure(.lossDetected(expected: expected, received: count))
            }
        } else {
            // RFC 3078 §8.2: "the receiver SHOULD silently discard all packets until a packet is received with the
            // FLUSHED bit set."
            guard header.flushed else {
                self.discardedWhileAwaiting += 1
                if self.discardedWhileAwaiting >= Self.discardsBeforeRepeatingReset {
                    // Ask again: the caller sends another CCP Reset-Request.
                    self.discardedWhileAwaiting = 0
                    let expected = (self.coherencyCount &+ 1) & MPPEHeader.countMask
                    return .failure(.lossDetected(expected: expected, received: count))
                }
                return .failure(.awaitingFlushedPacket)
            }
            if distance > self.maximumForwardJump {
                return .failure(.tooFarAhead(coherencyCount: count, distance: distance))
            }
        }
        // The key schedule is kept when it is about to change (a flag or FLUSHED packet, a resynchronisation),
        // so that a refused plaintext leaves the count and key as they were; most packets change nothing and
        // copy nothing. The RC4 table (1 KB, and copying it per packet doubled the cost of a small stateful
        // packet) is not kept: after a refusal it is re-keyed when the peer flushes, as after a loss.
        var savedKeys: MPPEKeySchedule?
        let resynchronising = self.awaitingFlush
        if !resynchronising {
            switch self.resetBehaviour {
            case .reinitialise:
                if isFlagPacket(count) {
                    // RFC 3078 §7.2: change the key "after receiving, but before decrypting, a flag packet".
                    savedKeys = self.keys
                    self.changeKeyAndReinitialise()
                } else if header.flushed {
                    // RFC 3078 §3.1: FLUSHED means "re-initialize its tables with the current session key".
                    self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
                }
            case .changeKey:
                // Linux ppp_mppe: every FLUSHED packet (flag packets carry it too) means one key change.
                if isFlagPacket(count) || header.flushed {
                    savedKeys = self.keys
                    self.changeKeyAndReinitialise()
                }
            }
        } else {
            savedKeys = self.keys
            // "the receiver MUST set its coherency count to the one received in that packet" after performing "the
            // number of key changes necessary to resynchronize": one per flag packet in (last accepted, count].
            var keyChanges = Self.flagPackets(after: self.coherencyCount, distance: distance)
            if self.resetBehaviour == .changeKey && !isFlagPacket(count) {
                // The Linux sender changed its key once more when it received the Reset-Request.
                keyChanges += 1
            }
            for _ in 0..<keyChanges {
                self.keys.changeKey()
            }
            // "... and re-initialize its RC4 tables using the current session key".
            self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
        }
        self.rc4.process(ciphertext)
        guard accept(UnsafeRawBufferPointer(ciphertext)) else {
            // RFC 3078 §8.2, as for a loss: discard until a FLUSHED packet; the caller sends a Reset-Request.
            if let savedKeys { self.keys = savedKeys }
            if !self.awaitingFlush { self.discardedWhileAwaiting = 0 }
            self.awaitingFlush = true
            return .failure(.implausiblePlaintext(coherencyCount: count))
        }
        self.coherencyCount = count
        self.awaitingFlush = false
        return .success(.inOrder(skipped: resynchronising ? distance - 1 : 0))
    }

    private mutating func changeKeyAndReinitialise() {
        self.keys.changeKey()
        self.rc4.rekey(self.keys.sessionKey, keyLength: self.keys.keyLength)
    }

    /// How many of the `distance` counts after `last` (last+1 … last+distance, modulo 4096) are flag packets.
    static func flagPackets(after last: UInt16, distance: Int) -> Int {
        // Counts c with c & 0xFF == 0xFF among the next `distance` counts: the first such count is
        // 255 - (last & 0xFF) steps ahead (256 when last itself is a flag packet), then every 256.
        let first = 255 - Int(last & 0xFF)
        let firstStep = first == 0 ? 256 : first
        guard distance >= firstStep else { return 0 }
        return 1 + (distance - firstStep) / 256
    }

    public var description: String {
        "MPPEDecryptor(\(self.strength), \(self.mode), count=\(self.coherencyCount), key=\(redacted))"
    }
    public var debugDescription: String { self.description }
    /// No children, so that `dump` and debuggers show only the redacted description.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Session keys of the most recent coherency counts, for decrypting late packets in stateless mode.
///
/// A ring indexed by count modulo the capacity, allocated once; storing and taking never allocate as long as the
/// owning decryptor is not copied.
struct LateKeyCache: Sendable {
    private struct Entry: Sendable {
        var count: UInt16 = 0
        var valid = false
        var used = false
        var key = Bytes16()
    }

    enum Lookup {
        case key(Bytes16)
        case alreadyUsed
        case unknown
    }

    private var entries: [Entry]

    /// A cache of at least `capacity` entries, rounded up to a power of two so that the ring's slots stay
    /// consistent across the wrap of the coherency count at 4096; 0 disables the cache.
    init(capacity: Int) {
        var size = 0
        if capacity > 0 {
            size = 1
            while size < capacity {
                size <<= 1
            }
        }
        self.entries = [Entry](repeating: Entry(), count: size)
    }

    /// Number of keys kept.
    var capacity: Int { self.entries.count }

    /// Remembers the session key of `count`; `used` when the packet with that count has been decrypted.
    mutating func store(_ key: Bytes16, for count: UInt16, used: Bool) {
        guard !self.entries.isEmpty else { return }
        let slot = Int(count) % self.entries.count
        self.entries[slot] = Entry(count: count, valid: true, used: used, key: key)
    }

    /// The key of a packet `behind` counts older than the newest, if it is known and not used yet (a second
    /// packet with the count is a duplicate). `markUsed` once the packet is accepted.
    func peek(_ count: UInt16, behind: Int) -> Lookup {
        guard behind < self.entries.count else { return .unknown }
        let slot = Int(count) % self.entries.count
        guard self.entries[slot].valid, self.entries[slot].count == count else { return .unknown }
        guard !self.entries[slot].used else { return .alreadyUsed }
        return .key(self.entries[slot].key)
    }

    /// The packet with `count` was decrypted with its cached key: a second one is a duplicate.
    mutating func markUsed(_ count: UInt16) {
        guard !self.entries.isEmpty else { return }
        let slot = Int(count) % self.entries.count
        if self.entries[slot].count == count { self.entries[slot].used = true }
    }
}

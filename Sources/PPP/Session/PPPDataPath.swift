import MSCrypto

/// Why a data frame was dropped.
public enum PPPDropReason: Error, Hashable, Sendable, CustomStringConvertible {
    /// The PPP header did not parse.
    case malformedHeader
    /// A plain IPv4/IPv6 frame while MPPE is up (RFC 3078 §1: once MPPE is negotiated, every
    /// data packet must be encrypted).
    case unencryptedAfterMPPE
    /// An MPPE packet that could not be decrypted (late, duplicate, lost in stateful mode …).
    case mppe(MPPEError)
    /// An MPPE packet before MPPE was negotiated, or with no key.
    case encryptionNotNegotiated
    /// A network protocol whose NCP is not open.
    case protocolNotOpen(PPPProtocolNumber)
    /// A frame too large for the peer's MRU, or a buffer without headroom.
    case tooLarge(Int)
    /// The peer's GRE receive window is full (RFC 2637 §4.2.4); set by the tunnel.
    case peerWindowFull

    /// Whether the frame shows it is not from the peer as the session stands: a forgery, or noise. Such a frame
    /// must not move any receive state. The others are frames a real peer sends at times (a stateful MPPE frame
    /// after a loss, a protocol whose NCP is closed) and are dropped as usual.
    public var refutesFrame: Bool {
        switch self {
        case .malformedHeader, .unencryptedAfterMPPE, .encryptionNotNegotiated: return true
        case .mppe(let error):
            switch error {
            case .notEncrypted, .flushedBitMissing, .tooFarAhead, .implausiblePlaintext: return true
            case .duplicate, .late, .lossDetected, .awaitingFlushedPacket: return false
            }
        case .protocolNotOpen, .tooLarge, .peerWindowFull: return false
        }
    }

    public var description: String {
        switch self {
        case .malformedHeader: return "malformed PPP header"
        case .unencryptedAfterMPPE: return "unencrypted frame after MPPE was negotiated"
        case .mppe(let error): return "MPPE: \(error)"
        case .encryptionNotNegotiated: return "MPPE frame but MPPE is not negotiated"
        case .protocolNotOpen(let p): return "\(p) frame but its NCP is not open"
        case .tooLarge(let size): return "frame of \(size) octets exceeds the peer's MRU"
        case .peerWindowFull: return "the peer's receive window is full"
        }
    }
}

/// What `decapsulate` found in a frame.
public enum PPPDecapsulation: Hashable, Sendable {
    /// An IPv4 packet, decrypted in place: its octets are `buffer[range]`.
    case ipv4(Range<Int>)
    case ipv6(Range<Int>)
    /// A control protocol packet (or an unknown protocol) for `PPPSession.receive(_:information:now:)`.
    case control(PPPProtocolNumber, Range<Int>)
    /// Dropped and counted. `resetRequested` is true when stateful MPPE detected a loss and the
    /// caller must ask the session to send a CCP Reset-Request (RFC 3078 §8.2).
    case dropped(PPPDropReason, resetRequested: Bool)
}

/// Counters of the data path.
public struct PPPDataCounters: Hashable, Sendable {
    public var framesSent = 0
    public var octetsSent = 0
    public var framesReceived = 0
    public var octetsReceived = 0
    public var droppedUnencrypted = 0
    public var droppedMPPE = 0
    public var droppedOther = 0
    /// Stateless MPPE packets that arrived after a newer one and were still decrypted.
    public var lateDecrypted = 0
    /// MPPE packets whose plaintext was not a plausible packet (forged, or not for this key): dropped without
    /// moving the key (also counted in `droppedMPPE`).
    public var droppedImplausible = 0
    public init() {}
}

/// The PPP data path of one session (RFC 1661 §2 framing, RFC 3078 encryption): IP packets to
/// PPP frames and back, in place, with no allocation per packet.
///
/// Frames are built in front of the payload, in the headroom the caller leaves: at most
/// `maximumHeaderLength` octets (Address/Control, 0x00FD, the MPPE header and the inner
/// protocol field).
public struct PPPDataPath: Sendable {
    /// Headroom `encapsulate` needs before the payload.
    public static let maximumHeaderLength = 8

    /// Send frames without Address/Control (the peer accepted ACFC) and with 1-octet protocol
    /// fields (the peer accepted PFC).
    public var sendACFC = false
    public var sendPFC = false
    /// The largest frame (protocol field and information) the peer accepts.
    public var peerMRU = 1500
    public private(set) var encryptor: MPPEEncryptor?
    public private(set) var decryptor: MPPEDecryptor?
    /// Whether MPPE is up (both ciphers are installed together): received network frames are decrypted,
    /// sent ones encrypted. Kept as a flag: testing an optional cipher copies its 1 KB RC4 table.
    public private(set) var decrypts = false

    /// MPPE is up: frames are encrypted and decrypted from now on (RFC 3078).
    public mutating func startEncryption(_ encryptor: MPPEEncryptor, _ decryptor: MPPEDecryptor) {
        self.encryptor = encryptor
        self.decryptor = decryptor
        decrypts = true
    }

    /// MPPE is down (CCP closed, or the link ended).
    public mutating func stopEncryption() {
        encryptor = nil
        decryptor = nil
        decrypts = false
    }
    /// The largest network packet the peer's MRU takes. RFC 1661 §6.1: the MRU counts the Information
    /// field only, not the Protocol field; MPPE puts its 2-octet header and the inner protocol field into
    /// the Information field (RFC 3078 §3), pppd's MPPE_PAD of 4. A shell sets its TUN MTU to at most this:
    /// a packet above it is dropped (accel-ppp asks for MRU 1400, and 1397–1400-octet packets vanished).
    public var largestDatagram: Int {
        decrypts ? peerMRU - 2 - (sendPFC ? 1 : 2) : peerMRU
    }

    /// When set, plain IP frames are dropped (MPPE was negotiated).
    public var encryptionActive: Bool { encryptor != nil || decryptor != nil }
    /// Stateless key changes the last decapsulated frame cost (read after a refusal, to charge it).
    public var lastKeyChanges: Int { decryptor?.lastKeyChanges ?? 0 }
    public var ipv4Open = false
    public var ipv6Open = false
    public private(set) var counters = PPPDataCounters()

    public init() {}

    /// Encapsulates the network packet in `buffer[payload]` as a PPP frame of `protocolNumber`
    /// (IPv4 or IPv6), encrypting it when MPPE is up. Returns the start index of the frame (it
    /// ends at `payload.upperBound`), or the reason it was dropped.
    public mutating func encapsulate(
        _ protocolNumber: PPPProtocolNumber,
        in buffer: UnsafeMutableRawBufferPointer,
        payload: Range<Int>
    ) -> Result<Int, PPPDropReason> {
        guard payload.lowerBound >= Self.maximumHeaderLength, payload.upperBound <= buffer.count else {
            return .failure(.tooLarge(payload.count))
        }
        let isOpen = protocolNumber == .ipv6 ? ipv6Open : ipv4Open
        guard isOpen else { return .failure(.protocolNotOpen(protocolNumber)) }
        guard payload.count <= largestDatagram else { return .failure(.tooLarge(payload.count)) }

        var start = payload.lowerBound
        start = writeProtocol(protocolNumber, before: start, in: buffer)
        // RFC 3078 §3: the protocol field and the payload are encrypted together (in place,
        // through optional chaining so the encryptor is not copied).
        let plaintext = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<payload.upperBound])
        if let header = encryptor?.encrypt(plaintext) {
            start -= 2
            _ = header.write(to: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + 2)]))
            start = writeProtocol(.compressedDatagram, before: start, in: buffer)
        }
        if !sendACFC {
            start -= 2
            buffer[start] = 0xFF
            buffer[start + 1] = 0x03
        }
        counters.framesSent &+= 1
        counters.octetsSent &+= payload.count
        return .success(start)
    }

    func writeProtocol(
        _ protocolNumber: PPPProtocolNumber,
        before index: Int,
        in buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        if sendPFC && protocolNumber.rawValue < 0x100 {
            buffer[index - 1] = UInt8(truncatingIfNeeded: protocolNumber.rawValue)
            return index - 1
        }
        buffer[index - 2] = UInt8(truncatingIfNeeded: protocolNumber.rawValue >> 8)
        buffer[index - 1] = UInt8(truncatingIfNeeded: protocolNumber.rawValue)
        return index - 2
    }

    /// Decapsulates the PPP frame in `buffer[frame]`, decrypting MPPE in place, with at most
    /// `maximumKeyChanges` stateless key changes for it (see `MPPEDecryptor.decrypt`).
    public mutating func decapsulate(
        _ buffer: UnsafeMutableRawBufferPointer,
        frame: Range<Int>,
        maximumKeyChanges: Int = .max
    ) -> PPPDecapsulation {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[frame])
        guard let header = try? PPPFrameHeader.parse(bytes) else { return drop(.malformedHeader) }
        var start = frame.lowerBound + header.encodedLength
        var protocolNumber = header.protocolNumber
        if protocolNumber == .compressedDatagram {
            guard decryptor != nil else { return drop(.encryptionNotNegotiated) }
            guard frame.upperBound - start >= 2,
                let mppe = MPPEHeader(parsing: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + 2)]))
            else { return drop(.malformedHeader) }
            start += 2
            // Decrypt through the optional, in place: a local copy of the decryptor would copy its RC4 table in
            // and out, and share the late-key cache's storage with `self.decryptor`, so that storing a key
            // copied it on write (one heap allocation per stateless packet, measured by DataPathBenchmarks).
            let ciphertext = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<frame.upperBound])
            // Tentatively: the key and count move on only for a plaintext the peer could have sent, so a forged
            // frame with a far-ahead coherency count cannot leave every real frame "behind" (issue 22 item 7).
            guard
                let result = decryptor?.decrypt(
                    header: mppe,
                    ciphertext: ciphertext,
                    maximumKeyChanges: maximumKeyChanges,
                    accept: Self.isPlausiblePlaintext
                )
            else {
                return drop(.encryptionNotNegotiated)
            }
            switch result {
            case .success(let how):
                if case .late = how { counters.lateDecrypted &+= 1 }
            case .failure(let error):
                counters.droppedMPPE &+= 1
                if case .implausiblePlaintext = error { counters.droppedImplausible &+= 1 }
                if case .lossDetected = error { return .dropped(.mppe(error), resetRequested: true) }
                if case .implausiblePlaintext = error, decryptor?.awaitingFlush == true {
                    return .dropped(.mppe(error), resetRequested: true)
                }
                return .dropped(.mppe(error), resetRequested: false)
            }
            // The decrypted plaintext starts with the real protocol field (RFC 3078 §3).
            guard
                let inner = try? PPPFrameHeader.parse(
                    UnsafeRawBufferPointer(rebasing: buffer[start..<frame.upperBound])
                ),
                !inner.hasAddressAndControl
            else { return drop(.malformedHeader) }
            start += inner.encodedLength
            protocolNumber = inner.protocolNumber
        } else if protocolNumber.isNetworkLayer && (encryptor != nil || decryptor != nil) {
            // Tested here rather than through `encryptionActive`: through the getter the compiler copies both
            // optionals (2.4 KB of cipher state) to test them, about 40 ns per plain packet (DataPathBenchmarks).
            counters.droppedUnencrypted &+= 1
            return .dropped(.unencryptedAfterMPPE, resetRequested: false)
        }
        switch protocolNumber {
        case .ipv4:
            guard ipv4Open else { return drop(.protocolNotOpen(.ipv4)) }
            counters.framesReceived &+= 1
            counters.octetsReceived &+= frame.upperBound - start
            return .ipv4(start..<frame.upperBound)
        case .ipv6:
            guard ipv6Open else { return drop(.protocolNotOpen(.ipv6)) }
            counters.framesReceived &+= 1
            counters.octetsReceived &+= frame.upperBound - start
            return .ipv6(start..<frame.upperBound)
        default:
            return .control(protocolNumber, start..<frame.upperBound)
        }
    }

    /// Why a frame may not touch the session's receive state at all, judged from its PPP header before
    /// anything else (the GRE sequencer included): a plain network frame once MPPE is up (RFC 3078 §1), an
    /// MPPE frame before it is, a header that does not parse. Nil when the frame may go on.
    /// The frame is counted as dropped when it is refused.
    public mutating func screen(_ bytes: UnsafeRawBufferPointer) -> PPPDropReason? {
        guard let header = try? PPPFrameHeader.parse(bytes) else {
            counters.droppedOther &+= 1
            return .malformedHeader
        }
        // Tested on the optionals directly, as in `decapsulate`.
        if header.protocolNumber == .compressedDatagram {
            guard decryptor == nil else { return nil }
            counters.droppedOther &+= 1
            return .encryptionNotNegotiated
        }
        if header.protocolNumber.isNetworkLayer && (encryptor != nil || decryptor != nil) {
            counters.droppedUnencrypted &+= 1
            return .unencryptedAfterMPPE
        }
        return nil
    }

    /// Whether a decrypted MPPE plaintext (RFC 3078 §3: the protocol field, then the datagram) is a packet the peer
    /// could have sent: IPv4 with a correct header checksum and a total length that fits, or IPv6 with a payload
    /// length that fits. Decrypted with the wrong key or forged, it passes by chance about once in 2^40 (IPv4:
    /// protocol field, version, length and checksum) or 2^36 (IPv6). MPPE carries only network-layer protocols
    /// (RFC 3078 §1), and we carry only these two.
    @inline(__always)
    public static func isPlausiblePlaintext(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        // Written out rather than through PPPFrameHeader and IPv4Packet: this runs for every MPPE packet.
        guard let base = plaintext.baseAddress, plaintext.count >= 1 else { return false }
        // RFC 1661 §6.5: a 1-octet protocol field (PFC) has an odd first octet. Address and Control
        // (0xFF 0x03) inside the plaintext read as protocol 0xFF03: refused below, as they must be.
        let first = plaintext[0]
        let protocolNumber: UInt16
        let start: Int
        if first & 1 == 1 {
            protocolNumber = UInt16(first)
            start = 1
        } else {
            guard plaintext.count >= 2 else { return false }
            protocolNumber = UInt16(first) << 8 | UInt16(plaintext[1])
            start = 2
        }
        let length = plaintext.count - start
        switch protocolNumber {
        case PPPProtocolNumber.ipv4.rawValue:
            // RFC 791 §3.1: Version 4, IHL ≥ 5 words, a Total Length that fits, a correct checksum.
            guard length >= IPv4Packet.minimumHeaderLength else { return false }
            let versionAndLength = plaintext[start]
            let headerLength = Int(versionAndLength & 0x0F) << 2
            guard versionAndLength >> 4 == 4, headerLength >= 20, headerLength <= length else { return false }
            let total = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: start + 2, as: UInt16.self)))
            guard total >= headerLength, total <= length else { return false }
            var sum: UInt32 = 0
            var offset = start
            while offset < start + headerLength {
                sum &+= UInt32(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                offset &+= 2
            }
            sum = (sum & 0xFFFF) &+ (sum >> 16)
            sum = (sum & 0xFFFF) &+ (sum >> 16)
            return sum == 0xFFFF
        case PPPProtocolNumber.ipv6.rawValue:
            // RFC 8200 §3: Version 6; the Payload Length follows the 40-octet header.
            guard length >= 40, plaintext[start] >> 4 == 6 else { return false }
            let payload = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: start + 4, as: UInt16.self)))
            return 40 + payload <= length
        default:
            return false
        }
    }

    mutating func drop(_ reason: PPPDropReason) -> PPPDecapsulation {
        counters.droppedOther &+= 1
        return .dropped(reason, resetRequested: false)
    }

    /// CCP Reset-Request received (RFC 3078 §8.2): the sender flushes.
    public mutating func resetEncryptor() {
        encryptor?.reset()
    }
}

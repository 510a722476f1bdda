import NIOCore

/// Reads packet records from a pcap or pcapng file held in memory, one at a time.
///
/// The format is recognised from the first octets: classic pcap with any of its four magic numbers (µs or ns,
/// either byte order, draft-ietf-opsawg-pcap §4) or pcapng (draft-ietf-opsawg-pcapng), whose Section Header,
/// Interface Description, Enhanced Packet, Simple Packet and obsolete Packet blocks are decoded and every other
/// block is skipped. A pcapng file may hold several sections, each with its own byte order and interfaces.
///
/// Every read is bounds-checked. When the file is damaged or truncated, `nextFrame()` throws a `CaptureError`
/// after having returned every frame before the damage; further calls throw the same error again.
///
/// ```swift
/// var reader = CaptureFileReader(bytes: fileBytes)
/// while let frame = try reader.nextFrame() { … }
/// ```
public struct CaptureFileReader: Sendable {
    /// The largest captured length accepted for one record (256 MiB, far above any real snap length); a larger
    /// claim is treated as damage rather than as a reason to look for that many octets.
    public static let maximumRecordLength: UInt32 = 1 << 28

    /// The container format, known after the first call to `nextFrame()` (unless the header itself was damaged).
    public private(set) var format: CaptureFileFormat?
    /// The error that ended reading, if any.
    public private(set) var error: CaptureError?
    /// How many frames have been returned so far.
    public private(set) var framesRead = 0
    /// How many pcapng blocks were skipped because this reader does not use them (statistics, name resolution,
    /// custom and unknown blocks).
    public private(set) var skippedBlocks = 0

    private var buffer: ByteBuffer
    private let start: Int
    private var state: State = .start

    private enum State: Sendable {
        case start
        case pcap(PcapFileHeader)
        case pcapng(Section?)
        case finished
        case failed(CaptureError)
    }

    /// One pcapng section: its byte order and the interfaces its IDBs have described so far.
    private struct Section: Sendable {
        var byteOrder: Endianness
        var interfaces: [Interface] = []
        var lastTimestamp = CaptureTimestamp.zero
    }

    /// What an Interface Description Block says that packet blocks need.
    private struct Interface: Sendable {
        var linkType: LinkType
        var snapLength: UInt32
        var units: TimestampUnits = .decimal(exponent: 6)
        var offsetSeconds: Int64 = 0
    }

    /// Creates a reader over `bytes` (from its reader index to its writer index).
    public init(bytes: ByteBuffer) {
        self.buffer = bytes
        self.start = bytes.readerIndex
    }

    /// Creates a reader over `bytes`.
    public init(bytes: [UInt8]) {
        self.init(bytes: ByteBuffer(bytes: bytes))
    }

    /// Returns the next packet record, `nil` at the clean end of the file, or throws when the file is damaged.
    public mutating func nextFrame() throws(CaptureError) -> CaptureFrame? {
        do throws(CaptureError) {
            switch state {
            case .start:
                try readFileHeader()
                return try nextFrame()
            case .pcap(let header):
                return try nextPcapRecord(header)
            case .pcapng(let section):
                return try nextPcapNGPacket(section)
            case .finished:
                return nil
            case .failed(let error):
                throw error
            }
        } catch {
            state = .failed(error)
            self.error = error
            throw error
        }
    }

    /// The outcome of reading a whole file: every frame that could be read, and the error that stopped reading,
    /// if any.
    public struct Contents: Hashable, Sendable {
        /// The container format, `nil` when even the header could not be read.
        public var format: CaptureFileFormat?
        /// The frames read before the end of the file or the damage.
        public var frames: [CaptureFrame]
        /// `nil` when the file was read to its end.
        public var error: CaptureError?
        /// pcapng blocks skipped as not needed.
        public var skippedBlocks: Int
    }

    /// Reads every frame of `bytes`, stopping at the first damage.
    public static func readAll(_ bytes: ByteBuffer) -> Contents {
        var reader = CaptureFileReader(bytes: bytes)
        var frames: [CaptureFrame] = []
        while let frame = try? reader.nextFrame() {
            frames.append(frame)
        }
        return Contents(format: reader.format, frames: frames, error: reader.error, skippedBlocks: reader.skippedBlocks)
    }

    /// Reads every frame of `bytes`, stopping at the first damage.
    public static func readAll(_ bytes: [UInt8]) -> Contents {
        readAll(ByteBuffer(bytes: bytes))
    }

    // MARK: Format detection

    private var offset: Int { buffer.readerIndex - start }

    private mutating func readFileHeader() throws(CaptureError) {
        // Fewer than four octets cannot even be told apart: report them as a truncated header.
        guard let magic = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            throw .truncatedFileHeader(needed: 24, available: buffer.readableBytes)
        }
        switch magic {
        case 0xA1B2_C3D4: try readPcapHeader(.big, .microseconds)
        case 0xD4C3_B2A1: try readPcapHeader(.little, .microseconds)
        case 0xA1B2_3C4D: try readPcapHeader(.big, .nanoseconds)
        case 0x4D3C_B2A1: try readPcapHeader(.little, .nanoseconds)
        case PcapNGBlockType.sectionHeader:
            format = .pcapng
            state = .pcapng(nil)
        default:
            throw .unknownFileFormat(magic: magic)
        }
    }

    // MARK: Classic pcap

    private mutating func readPcapHeader(
        _ byteOrder: Endianness,
        _ resolution: PcapTimestampResolution
    ) throws(CaptureError) {
        guard
            let (_, major, minor, _, _, snapLength, linkField) = buffer.readMultipleIntegers(
                endianness: byteOrder,
                as: (UInt32, UInt16, UInt16, UInt32, UInt32, UInt32, UInt32).self
            )
        else {
            throw .truncatedFileHeader(needed: 24, available: buffer.readableBytes)
        }
        guard major == 2 else { throw .unsupportedPcapVersion(major: major, minor: minor) }
        // draft-ietf-opsawg-pcap §4 (libpcap LT_FCS_LENGTH): LinkType in the low 16 bits; when the P bit
        // (0x04000000) is set, the top 4 bits give the FCS length in 16-bit words.
        let fcsLength: Int? = linkField & 0x0400_0000 != 0 ? Int(linkField >> 28) * 2 : nil
        let header = PcapFileHeader(
            byteOrder: byteOrder,
            resolution: resolution,
            majorVersion: major,
            minorVersion: minor,
            snapLength: snapLength,
            linkType: LinkType(rawValue: linkField & 0xFFFF),
            fcsLength: fcsLength
        )
        format = .pcap(header)
        state = .pcap(header)
    }

    private mutating func nextPcapRecord(_ header: PcapFileHeader) throws(CaptureError) -> CaptureFrame? {
        let recordOffset = offset
        let frameNumber = framesRead + 1
        if buffer.readableBytes == 0 {
            state = .finished
            return nil
        }
        guard
            let (seconds, fraction, capturedLength, originalLength) = buffer.readMultipleIntegers(
                endianness: header.byteOrder,
                as: (UInt32, UInt32, UInt32, UInt32).self
            )
        else {
            throw .truncatedRecordHeader(
                frame: frameNumber,
                offset: recordOffset,
                needed: 16,
                available: buffer.readableBytes
            )
        }
        guard capturedLength <= Self.maximumRecordLength else {
            throw .recordTooLarge(frame: frameNumber, offset: recordOffset, length: capturedLength)
        }
        guard let data = buffer.readSlice(length: Int(capturedLength)) else {
            throw .truncatedRecordData(
                frame: frameNumber,
                offset: recordOffset,
                needed: Int(capturedLength),
                available: buffer.readableBytes
            )
        }
        // The fraction should be below one second; a larger value carries into the seconds rather than failing.
        let perSecond: UInt64 = header.resolution == .microseconds ? 1_000_000 : 1_000_000_000
        let nanosecondsPerUnit: UInt64 = header.resolution == .microseconds ? 1_000 : 1
        let timestamp = CaptureTimestamp(
            seconds: Int64(seconds) + Int64(UInt64(fraction) / perSecond),
            nanoseconds: UInt32(UInt64(fraction) % perSecond * nanosecondsPerUnit)
        )
        framesRead = frameNumber
        return CaptureFrame(
            number: frameNumber,
            timestamp: timestamp,
            linkType: header.linkType,
            originalLength: Int(originalLength),
            data: data
        )
    }

    // MARK: pcapng

    /// Reads blocks until one yields a packet, the file ends, or a block is damaged.
    private mutating func nextPcapNGPacket(_ initial: Section?) throws(CaptureError) -> CaptureFrame? {
        var section = initial
        // Every iteration consumes at least one 12-octet block or throws, so this loop ends.
        while true {
            let blockOffset = offset
            let available = buffer.readableBytes
            if available == 0 {
                state = .finished
                return nil
            }
            guard available >= 12 else {
                throw .truncatedBlock(offset: blockOffset, needed: 12, available: available)
            }
            let base = buffer.readerIndex
            // The SHB's block type is a palindrome; its byte order comes from the Byte-Order Magic that follows
            // the length (draft-ietf-opsawg-pcapng §4.1).
            let byteOrder: Endianness
            let rawType = buffer.getInteger(at: base, endianness: .big, as: UInt32.self) ?? 0
            if rawType == PcapNGBlockType.sectionHeader {
                let magic = buffer.getInteger(at: base + 8, endianness: .big, as: UInt32.self) ?? 0
                switch magic {
                case 0x1A2B_3C4D: byteOrder = .big
                case 0x4D3C_2B1A: byteOrder = .little
                default: throw .badByteOrderMagic(offset: blockOffset, magic: magic)
                }
            } else if let current = section {
                byteOrder = current.byteOrder
            } else {
                // Unreachable for a file whose first block was checked, kept for safety.
                throw .unknownFileFormat(magic: rawType)
            }
            let blockType = buffer.getInteger(at: base, endianness: byteOrder, as: UInt32.self) ?? 0
            let length = buffer.getInteger(at: base + 4, endianness: byteOrder, as: UInt32.self) ?? 0
            guard length >= 12, length % 4 == 0 else {
                throw .invalidBlockLength(offset: blockOffset, blockType: blockType, length: length)
            }
            guard length <= available else {
                throw .truncatedBlock(offset: blockOffset, needed: Int(length), available: available)
            }
            let trailing = buffer.getInteger(at: base + Int(length) - 4, endianness: byteOrder, as: UInt32.self) ?? 0
            guard trailing == length else {
                throw .blockLengthMismatch(offset: blockOffset, leading: length, trailing: trailing)
            }
            guard var body = buffer.getSlice(at: base + 8, length: Int(length) - 12) else {
                throw .truncatedBlock(offset: blockOffset, needed: Int(length), available: available)
            }
            buffer.moveReaderIndex(forwardBy: Int(length))

            let block = BlockContext(offset: blockOffset, type: blockType, length: length, byteOrder: byteOrder)
            switch blockType {
            case PcapNGBlockType.sectionHeader:
                section = try block.readSectionHeader(&body)
                state = .pcapng(section)
            case PcapNGBlockType.interfaceDescription:
                guard var current = section else { continue }
                current.interfaces.append(try block.readInterfaceDescription(&body))
                section = current
                state = .pcapng(section)
            case PcapNGBlockType.enhancedPacket, PcapNGBlockType.simplePacket, PcapNGBlockType.obsoletePacket:
                guard var current = section else { continue }
                let frameNumber = framesRead + 1
                let frame = try block.readPacket(&body, section: &current, frameNumber: frameNumber)
                section = current
                state = .pcapng(section)
                framesRead = frameNumber
                return frame
            default:
                skippedBlocks += 1
            }
        }
    }

    /// Decodes the body of one pcapng block, whose offset and byte order it remembers for error reports.
    private struct BlockContext {
        var offset: Int
        var type: UInt32
        var length: UInt32
        var byteOrder: Endianness

        private func read<T: FixedWidthInteger>(_ body: inout ByteBuffer, as: T.Type) throws(CaptureError) -> T {
            // A fixed field that does not fit means the Block Total Length is too small for this block type.
            guard let value = body.readInteger(endianness: byteOrder, as: T.self) else {
                throw .invalidBlockLength(offset: offset, blockType: type, length: length)
            }
            return value
        }

        /// Section Header Block (§4.1): Byte-Order Magic, version 1.x, Section Length, options.
        func readSectionHeader(_ body: inout ByteBuffer) throws(CaptureError) -> Section {
            _ = try read(&body, as: UInt32.self)
            let major = try read(&body, as: UInt16.self)
            let minor = try read(&body, as: UInt16.self)
            _ = try read(&body, as: UInt64.self)  // Section Length: may be −1 (unknown); not needed in memory.
            guard major == 1 else {
                throw .unsupportedSectionVersion(offset: offset, major: major, minor: minor)
            }
            try forEachOption(&body) { _, _ in }
            return Section(byteOrder: byteOrder)
        }

        /// Interface Description Block (§4.2): LinkType, reserved, SnapLen, options (if_tsresol, if_tsoffset).
        func readInterfaceDescription(_ body: inout ByteBuffer) throws(CaptureError) -> Interface {
            let linkType = try read(&body, as: UInt16.self)
            _ = try read(&body, as: UInt16.self)
            let snapLength = try read(&body, as: UInt32.self)
            var interface = Interface(linkType: LinkType(rawValue: UInt32(linkType)), snapLength: snapLength)
            let byteOrder = self.byteOrder
            try forEachOption(&body) { code, value in
                switch code {
                case 9:  // if_tsresol: MSB clear = 10^-n seconds, set = 2^-n seconds (§4.2, Table 7).
                    if let resolution = value.getInteger(at: value.readerIndex, as: UInt8.self) {
                        interface.units =
                            resolution & 0x80 == 0
                            ? .decimal(exponent: resolution) : .binary(exponent: resolution & 0x7F)
                    }
                case 14:  // if_tsoffset: seconds to add to every timestamp of this interface.
                    if let seconds = value.getInteger(at: value.readerIndex, endianness: byteOrder, as: Int64.self) {
                        interface.offsetSeconds = seconds
                    }
                default:
                    break
                }
            }
            return interface
        }

        /// Enhanced (§4.3), Simple (§4.4) or obsolete Packet Block (Appendix A).
        func readPacket(
            _ body: inout ByteBuffer,
            section: inout Section,
            frameNumber: Int
        ) throws(CaptureError) -> CaptureFrame {
            let interfaceID: UInt32
            var timestamp: CaptureTimestamp? = nil
            let capturedLength: Int
            let originalLength: UInt32
            switch type {
            case PcapNGBlockType.simplePacket:
                interfaceID = 0
                originalLength = try read(&body, as: UInt32.self)
                // §4.4: captured length = min(Original Packet Length, SnapLen), bounded by the block itself.
                var length = min(Int(originalLength), body.readableBytes)
                if let snapLength = section.interfaces.first?.snapLength, snapLength > 0 {
                    length = min(length, Int(snapLength))
                }
                capturedLength = length
            default:
                if type == PcapNGBlockType.obsoletePacket {
                    interfaceID = UInt32(try read(&body, as: UInt16.self))
                    _ = try read(&body, as: UInt16.self)  // drops count
                } else {
                    interfaceID = try read(&body, as: UInt32.self)
                }
                let high = try read(&body, as: UInt32.self)
                let low = try read(&body, as: UInt32.self)
                let captured = try read(&body, as: UInt32.self)
                originalLength = try read(&body, as: UInt32.self)
                capturedLength = Int(captured)
                guard Int(interfaceID) < section.interfaces.count else {
                    throw .unknownInterface(offset: offset, interfaceID: interfaceID)
                }
                let interface = section.interfaces[Int(interfaceID)]
                timestamp = interface.units.timestamp(
                    UInt64(high) << 32 | UInt64(low),
                    offsetSeconds: interface.offsetSeconds
                )
            }
            guard Int(interfaceID) < section.interfaces.count else {
                throw .unknownInterface(offset: offset, interfaceID: interfaceID)
            }
            guard let data = body.readSlice(length: capturedLength) else {
                throw .truncatedRecordData(
                    frame: frameNumber,
                    offset: offset,
                    needed: capturedLength,
                    available: body.readableBytes
                )
            }
            if let timestamp { section.lastTimestamp = timestamp }
            return CaptureFrame(
                number: frameNumber,
                timestamp: timestamp ?? section.lastTimestamp,
                hasTimestamp: timestamp != nil,
                linkType: section.interfaces[Int(interfaceID)].linkType,
                originalLength: Int(originalLength),
                data: data,
                interfaceID: Int(interfaceID)
            )
        }

        /// Walks the options that fill the rest of `body` (§3.5), up to opt_endofopt or the end of the block.
        private func forEachOption(
            _ body: inout ByteBuffer,
            _ visit: (UInt16, ByteBuffer) -> Void
        ) throws(CaptureError) {
            // Each option consumes at least 4 octets, so this loop ends.
            while body.readableBytes >= 4 {
                let code = try read(&body, as: UInt16.self)
                let length = try read(&body, as: UInt16.self)
                if code == 0 { return }  // opt_endofopt
                guard let value = body.readSlice(length: Int(length)) else {
                    throw .malformedOption(offset: offset, code: code, length: length)
                }
                // Values are padded to 32 bits; tolerate a missing pad at the very end of the block.
                body.moveReaderIndex(forwardBy: min((4 - Int(length) % 4) % 4, body.readableBytes))
                visit(code, value)
            }
        }
    }
}

/// pcapng block type codes (draft-ietf-opsawg-pcapng §10.1).
enum PcapNGBlockType {
    static let sectionHeader: UInt32 = 0x0A0D_0D0A
    static let interfaceDescription: UInt32 = 1
    static let obsoletePacket: UInt32 = 2
    static let simplePacket: UInt32 = 3
    static let enhancedPacket: UInt32 = 6
}

/// The unit of a pcapng interface's timestamps (if_tsresol, draft-ietf-opsawg-pcapng §4.2).
enum TimestampUnits: Hashable, Sendable {
    /// 10^-exponent seconds (the default is 10^-6).
    case decimal(exponent: UInt8)
    /// 2^-exponent seconds.
    case binary(exponent: UInt8)

    /// Converts a 64-bit count of these units since the epoch, plus `offsetSeconds`, to a timestamp.
    func timestamp(_ value: UInt64, offsetSeconds: Int64) -> CaptureTimestamp {
        let seconds: UInt64
        let nanoseconds: UInt64
        switch self {
        case .decimal(let exponent):
            let e = Int(exponent)
            if e <= 19 {
                let unitsPerSecond = Self.powerOfTen(e)
                seconds = value / unitsPerSecond
                let fraction = value % unitsPerSecond
                nanoseconds = e <= 9 ? fraction * Self.powerOfTen(9 - e) : fraction / Self.powerOfTen(e - 9)
            } else {
                seconds = 0
                nanoseconds = e - 9 <= 19 ? value / Self.powerOfTen(e - 9) : 0
            }
        case .binary(let exponent):
            let e = Int(exponent)
            let fraction: UInt64
            if e < 64 {
                seconds = value >> e
                fraction = e == 0 ? 0 : value & (UInt64.max >> (64 - e))
            } else {
                seconds = 0
                fraction = value
            }
            // nanoseconds = fraction × 10^9 / 2^e, computed in 128 bits so that it cannot overflow.
            let (high, low) = fraction.multipliedFullWidth(by: 1_000_000_000)
            if e == 0 {
                nanoseconds = 0
            } else if e < 64 {
                nanoseconds = high << (64 - e) | low >> e
            } else if e < 128 {
                nanoseconds = high >> (e - 64)
            } else {
                nanoseconds = 0
            }
        }
        let whole = Int64(clamping: seconds)
        let shifted = whole.addingReportingOverflow(offsetSeconds)
        return CaptureTimestamp(
            seconds: shifted.overflow ? whole : shifted.partialValue,
            nanoseconds: UInt32(clamping: nanoseconds)
        )
    }

    private static func powerOfTen(_ exponent: Int) -> UInt64 {
        var result: UInt64 = 1
        for _ in 0..<max(0, min(exponent, 19)) { result &*= 10 }
        return result
    }
}

import NIOCore
import Testing

@testable import PPTPCapture

/// Hand-made pcap and pcapng files: every container variant, link type and error path.
@Suite struct PcapFileTests {
    static let greIPv4 = CaptureBytes.ipv4(
        protocolNumber: 47,
        payload: CaptureBytes.gre(callID: 7, sequence: 1, payload: [1, 2, 3])
    )
    static let greIPv6 = CaptureBytes.ipv6(
        nextHeader: 47,
        payload: CaptureBytes.gre(callID: 7, sequence: 2, payload: [4, 5])
    )

    struct Variant: Sendable, CustomTestStringConvertible {
        var order: Endianness
        var nanoseconds: Bool
        var testDescription: String { "\(order)-endian \(nanoseconds ? "ns" : "µs")" }
    }

    @Test(arguments: [
        Variant(order: .little, nanoseconds: false), Variant(order: .big, nanoseconds: false),
        Variant(order: .little, nanoseconds: true), Variant(order: .big, nanoseconds: true),
    ])
    func readsClassicPcapInEveryMagicVariant(variant: Variant) throws {
        let fraction: UInt32 = variant.nanoseconds ? 123_456_789 : 123_456
        let file = CaptureBytes.pcap(
            linkType: 101,
            order: variant.order,
            nanoseconds: variant.nanoseconds,
            records: [(1_700_000_000, fraction, Self.greIPv4), (1_700_000_001, 0, Self.greIPv6)]
        )
        let contents = CaptureFileReader.readAll(file)
        #expect(contents.error == nil)
        guard case .pcap(let header) = contents.format else {
            Issue.record("format \(String(describing: contents.format))")
            return
        }
        #expect(header.byteOrder == variant.order)
        #expect(header.resolution == (variant.nanoseconds ? .nanoseconds : .microseconds))
        #expect(header.linkType == .raw)
        #expect(header.snapLength == 262_144)
        #expect(contents.frames.map(\.number) == [1, 2])
        #expect(
            contents.frames.first?.timestamp
                == CaptureTimestamp(
                    seconds: 1_700_000_000,
                    nanoseconds: 123_456_789 / (variant.nanoseconds ? 1 : 1000) * (variant.nanoseconds ? 1 : 1000)
                )
        )
        #expect(contents.frames.map { Array($0.data.readableBytesView) } == [Self.greIPv4, Self.greIPv6])

        let result = CaptureReader.readAll(file)
        #expect(result.grePayloads.count == 2)
        #expect(result.statistics.ipv4Packets == 1)
        #expect(result.statistics.ipv6Packets == 1)
    }

    @Test(arguments: [Endianness.little, .big])
    func readsPcapNGBlocksInBothByteOrders(order: Endianness) throws {
        let ethernetFrame = CaptureBytes.ethernet(type: 0x0800, payload: Self.greIPv4)
        var file = CaptureBytes.sectionHeader(order)
        file += CaptureBytes.interface(linkType: 1, order)  // if 0: Ethernet, µs (default resolution)
        file += CaptureBytes.interface(linkType: 101, tsresol: 9, order)  // if 1: raw IP, ns
        file += CaptureBytes.enhancedPacket(interface: 0, timestamp: 1_700_000_000_654_321, data: ethernetFrame, order)
        // Interface Statistics: skipped.
        file += CaptureBytes.block(0x0000_0005, [UInt8](repeating: 0, count: 16), order)
        file += CaptureBytes.block(0x0000_0BAD, [0, 0, 0, 1, 9, 9], order)  // custom block: skipped
        file += CaptureBytes.enhancedPacket(
            interface: 1,
            timestamp: 1_700_000_000_987_654_321,
            data: Self.greIPv6,
            order
        )
        file += CaptureBytes.simplePacket(data: ethernetFrame, order)
        file += CaptureBytes.obsoletePacket(
            interface: 1,
            timestamp: 1_700_000_002_000_000_001,
            data: Self.greIPv4,
            order
        )

        let contents = CaptureFileReader.readAll(file)
        #expect(contents.error == nil)
        #expect(contents.format == .pcapng)
        #expect(contents.skippedBlocks == 2)
        #expect(contents.frames.map(\.number) == [1, 2, 3, 4])
        #expect(contents.frames.map(\.linkType) == [.ethernet, .raw, .ethernet, .raw])
        #expect(contents.frames.map(\.interfaceID) == [0, 1, 0, 1])
        #expect(contents.frames.map(\.hasTimestamp) == [true, true, false, true])
        #expect(
            contents.frames.map(\.timestamp) == [
                CaptureTimestamp(seconds: 1_700_000_000, nanoseconds: 654_321_000),
                CaptureTimestamp(seconds: 1_700_000_000, nanoseconds: 987_654_321),
                // A Simple Packet Block has no time: the previous frame's is repeated.
                CaptureTimestamp(seconds: 1_700_000_000, nanoseconds: 987_654_321),
                CaptureTimestamp(seconds: 1_700_000_002, nanoseconds: 1),
            ]
        )
        #expect(
            contents.frames.map { Array($0.data.readableBytesView) } == [
                ethernetFrame, Self.greIPv6, ethernetFrame, Self.greIPv4,
            ]
        )
        #expect(CaptureReader.readAll(file).grePayloads.count == 4)
    }

    @Test func readsSeveralSectionsEachWithItsOwnByteOrderAndInterfaces() throws {
        var file = CaptureBytes.sectionHeader(.little)
        file += CaptureBytes.interface(linkType: 1, .little)
        file += CaptureBytes.enhancedPacket(
            interface: 0,
            timestamp: 1,
            data: CaptureBytes.ethernet(type: 0x0800, payload: Self.greIPv4),
            .little
        )
        file += CaptureBytes.sectionHeader(.big)
        file += CaptureBytes.interface(linkType: 113, tsresol: 0x80 | 1, .big)  // 2^-1 s units
        file += CaptureBytes.enhancedPacket(
            interface: 0,
            timestamp: 3,
            data: CaptureBytes.sll(protocolType: 0x86DD, payload: Self.greIPv6),
            .big
        )
        let contents = CaptureFileReader.readAll(file)
        #expect(contents.error == nil)
        #expect(contents.frames.map(\.linkType) == [.ethernet, .linuxSLL])
        #expect(contents.frames.last?.timestamp == CaptureTimestamp(seconds: 1, nanoseconds: 500_000_000))
        let result = CaptureReader.readAll(file)
        #expect(result.grePayloads.count == 2)
        #expect(result.statistics.framesByLinkType == [.ethernet: 1, .linuxSLL: 1])
    }

    @Test(arguments: [Endianness.little, .big])
    func appliesTheInterfaceTimestampOffset(order: Endianness) {
        var file = CaptureBytes.sectionHeader(order)
        file += CaptureBytes.interface(linkType: 101, tsresol: 3, tsoffset: 1_000_000_000, order)
        file += CaptureBytes.enhancedPacket(interface: 0, timestamp: 1_500, data: Self.greIPv4, order)
        let contents = CaptureFileReader.readAll(file)
        #expect(contents.error == nil)
        #expect(
            contents.frames.map(\.timestamp) == [CaptureTimestamp(seconds: 1_000_000_001, nanoseconds: 500_000_000)]
        )
    }

    @Test func readsTheFCSLengthOfAPcapHeader() {
        // libpcap LT_FCS_DATALINK_EXT(2): a 4-octet FCS (two 16-bit words), P bit set.
        let file = CaptureBytes.pcap(linkType: 0x2400_0001, records: [])
        guard case .pcap(let header) = CaptureFileReader.readAll(file).format else {
            Issue.record("not pcap")
            return
        }
        #expect(header.linkType == .ethernet)
        #expect(header.fcsLength == 4)
        guard case .pcap(let plain) = CaptureFileReader.readAll(CaptureBytes.pcap(linkType: 1, records: [])).format
        else {
            Issue.record("not pcap")
            return
        }
        #expect(plain.fcsLength == nil)
    }

    @Test func convertsPcapNGTimestampUnits() {
        let value: UInt64 = 1_700_000_000_123_456_789
        #expect(
            TimestampUnits.decimal(exponent: 9).timestamp(value, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)
        )
        #expect(
            TimestampUnits.decimal(exponent: 6).timestamp(1_500_000, offsetSeconds: 10)
                == CaptureTimestamp(seconds: 11, nanoseconds: 500_000_000)
        )
        #expect(
            TimestampUnits.decimal(exponent: 12).timestamp(2_000_000_123_456, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 2, nanoseconds: 123)
        )
        #expect(
            TimestampUnits.decimal(exponent: 0).timestamp(42, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 42, nanoseconds: 0)
        )
        #expect(
            TimestampUnits.binary(exponent: 20).timestamp(3 << 20 | 1 << 19, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 3, nanoseconds: 500_000_000)
        )
        #expect(
            TimestampUnits.binary(exponent: 64).timestamp(1 << 63, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 0, nanoseconds: 500_000_000)
        )
        // Extreme resolutions neither trap nor overflow.
        #expect(
            TimestampUnits.decimal(exponent: 127).timestamp(.max, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 0, nanoseconds: 0)
        )
        #expect(
            TimestampUnits.binary(exponent: 127).timestamp(.max, offsetSeconds: 0)
                == CaptureTimestamp(seconds: 0, nanoseconds: 0)
        )
        #expect(TimestampUnits.decimal(exponent: 0).timestamp(.max, offsetSeconds: .max).seconds == .max)
    }

    // MARK: Link types

    struct LinkCase: Sendable, CustomTestStringConvertible {
        var name: String
        var linkType: UInt32
        var frame: [UInt8]
        var testDescription: String { name }
        /// The frame carries `greIPv6` rather than `greIPv4`.
        var isIPv6: Bool { frame.suffix(PcapFileTests.greIPv6.count).elementsEqual(PcapFileTests.greIPv6) }
    }

    static let linkCases: [LinkCase] = [
        LinkCase(name: "Ethernet", linkType: 1, frame: CaptureBytes.ethernet(type: 0x0800, payload: greIPv4)),
        LinkCase(name: "Ethernet IPv6", linkType: 1, frame: CaptureBytes.ethernet(type: 0x86DD, payload: greIPv6)),
        LinkCase(
            name: "802.1Q",
            linkType: 1,
            frame: CaptureBytes.ethernet(type: 0x0800, vlanTags: [100], payload: greIPv4)
        ),
        LinkCase(
            name: "802.1ad + 802.1Q",
            linkType: 1,
            frame: [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2] + CaptureBytes.be16(0x88A8) + CaptureBytes.be16(10)
                + CaptureBytes.be16(0x8100)
                + CaptureBytes.be16(20) + CaptureBytes.be16(0x86DD) + greIPv6
        ),
        LinkCase(
            name: "802.3 + SNAP",
            linkType: 1,
            frame: [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2] + CaptureBytes.be16(UInt16(greIPv4.count + 8))
                + [0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00] + greIPv4
        ),
        LinkCase(name: "Linux SLL", linkType: 113, frame: CaptureBytes.sll(protocolType: 0x0800, payload: greIPv4)),
        LinkCase(name: "Linux SLL2", linkType: 276, frame: CaptureBytes.sll2(protocolType: 0x86DD, payload: greIPv6)),
        LinkCase(name: "raw IPv4", linkType: 101, frame: greIPv4),
        LinkCase(name: "raw IPv6", linkType: 101, frame: greIPv6),
        LinkCase(name: "IPv4", linkType: 228, frame: greIPv4),
        LinkCase(name: "IPv6", linkType: 229, frame: greIPv6),
        LinkCase(name: "null, little-endian AF_INET", linkType: 0, frame: CaptureBytes.le32(2) + greIPv4),
        LinkCase(name: "null, big-endian AF_INET6 (Darwin)", linkType: 0, frame: CaptureBytes.be32(30) + greIPv6),
        LinkCase(name: "loop AF_INET", linkType: 108, frame: CaptureBytes.be32(2) + greIPv4),
    ]

    @Test(arguments: linkCases)
    func decapsulatesEveryLinkType(linkCase: LinkCase) throws {
        let file = CaptureBytes.pcap(linkType: linkCase.linkType, records: [(1, 0, linkCase.frame)])
        let result = CaptureReader.readAll(file)
        #expect(result.error == nil)
        #expect(result.malformed.isEmpty)
        let isIPv6 = linkCase.isIPv6
        let expected = isIPv6 ? Self.greIPv6 : Self.greIPv4
        let events = result.events.filter { if case .gre = $0 { true } else { false } }
        #expect(events.count == 1)
        guard case .gre(let source, let destination, let payload, let frames, _) = events.first else { return }
        #expect(source == (isIPv6 ? IPAddress("2001:db8::2") : .v4(192, 0, 2, 2)))
        #expect(destination == (isIPv6 ? IPAddress("2001:db8::1") : .v4(192, 0, 2, 1)))
        #expect(payload == Array(expected.dropFirst(isIPv6 ? 40 : 20)))
        #expect(frames == [1])
    }

    @Test func countsAndSkipsNonIPFrames() {
        let arp = CaptureBytes.ethernet(type: 0x0806, payload: [UInt8](repeating: 0, count: 28))
        let file = CaptureBytes.pcap(
            linkType: 1,
            records: [(1, 0, arp), (2, 0, arp), (3, 0, CaptureBytes.ethernet(type: 0x0800, payload: Self.greIPv4))]
        )
        let result = CaptureReader.readAll(file)
        #expect(result.statistics.nonIPFrames == [.arp: 2])
        #expect(result.diagnostics.filter { $0 == .skipped(.notIP(.arp)) }.count == 2)
        #expect(result.statistics.greDatagrams == 1)
        var quiet = CaptureConfiguration()
        quiet.reportSkippedFrames = false
        #expect(CaptureReader.readAll(file, configuration: quiet).diagnostics.isEmpty)
    }

    @Test func skipsUnsupportedLinkTypesAndOtherProtocols() {
        let udp = CaptureBytes.ipv4(protocolNumber: 17, payload: [0, 53, 0, 53, 0, 8, 0, 0])
        let file =
            CaptureBytes.pcap(linkType: 147, records: [(1, 0, [1, 2, 3])])
        #expect(CaptureReader.readAll(file).diagnostics == [.skipped(.unsupportedLinkType(LinkType(rawValue: 147)))])
        let other = CaptureReader.readAll(CaptureBytes.pcap(linkType: 101, records: [(1, 0, udp)]))
        #expect(other.diagnostics == [.skipped(.otherProtocol(.udp))])
        #expect(other.statistics.datagramsByProtocol == [.udp: 1])
    }

    @Test func skipsIPv4OptionsAndLinkPadding() {
        let options: [UInt8] = [0x94, 0x04, 0, 0]  // Router Alert (RFC 2113)
        let packet = CaptureBytes.ipv4(protocolNumber: 47, options: options, payload: [9, 8, 7, 6])
        let padded = CaptureBytes.ethernet(type: 0x0800, payload: packet + [0, 0, 0, 0, 0, 0])
        let result = CaptureReader.readAll(CaptureBytes.pcap(linkType: 1, records: [(1, 0, padded)]))
        #expect(result.grePayloads == [[9, 8, 7, 6]])
        #expect(result.statistics.ipv4ChecksumErrors == 0)
    }

    @Test func reportsIPv4ChecksumErrorsAndOptionallyDropsThem() {
        var packet = Self.greIPv4
        packet[10] ^= 0xFF
        let file = CaptureBytes.pcap(linkType: 101, records: [(1, 0, packet)])
        let kept = CaptureReader.readAll(file)
        #expect(kept.statistics.ipv4ChecksumErrors == 1)
        #expect(kept.grePayloads.count == 1)
        let expectedChecksum = UInt16(Self.greIPv4[10]) << 8 | UInt16(Self.greIPv4[11])
        #expect(
            kept.diagnostics.first
                == .ipv4ChecksumMismatch(
                    source: .v4(192, 0, 2, 2),
                    destination: .v4(192, 0, 2, 1),
                    stored: expectedChecksum ^ 0xFF00,
                    computed: expectedChecksum
                )
        )
        var strict = CaptureConfiguration()
        strict.dropIPv4ChecksumErrors = true
        let dropped = CaptureReader.readAll(file, configuration: strict)
        #expect(dropped.grePayloads.isEmpty)
        #expect(dropped.diagnostics.contains(.skipped(.ipv4ChecksumError)))
    }

    @Test func reassemblesIPv6FragmentsBehindExtensionHeaders() throws {
        // Hop-by-Hop (unfragmentable) → Fragment → Destination Options (fragmentable) → GRE.
        let gre = CaptureBytes.gre(
            callID: 9,
            sequence: 5,
            payload: (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        )
        let destinationOptions: [UInt8] = [47, 0, 1, 4, 0, 0, 0, 0]  // PadN
        let fragmentable = destinationOptions + gre
        let pieces = [0..<1232, 1232..<2464, 2464..<fragmentable.count]
        let frames = pieces.map { range in
            let hopByHop: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
            let fragment = CaptureBytes.ipv6Fragment(
                next: 60,
                offset: range.lowerBound,
                more: range.upperBound < fragmentable.count,
                identification: 0xDEAD_BEEF
            )
            return CaptureBytes.ipv6(
                nextHeader: 0,
                extensions: hopByHop + fragment,
                payload: Array(fragmentable[range])
            )
        }
        // Last, first, middle.
        let file = CaptureBytes.pcap(linkType: 229, records: [(1, 0, frames[2]), (1, 1, frames[0]), (1, 2, frames[1])])
        let result = CaptureReader.readAll(file)
        #expect(result.malformed.isEmpty)
        #expect(result.grePayloads == [gre])
        #expect(result.statistics.fragments.fragments == 3)
        #expect(result.statistics.fragments.datagramsReassembled == 1)
        guard case .gre(_, _, _, let frameNumbers, let time) = result.events.last else {
            Issue.record("no GRE event")
            return
        }
        #expect(frameNumbers == [1, 2, 3])
        #expect(time == CaptureTimestamp(seconds: 1, nanoseconds: 2000))
    }

    @Test func processesIPv6AtomicFragmentsWithoutReassembly() {
        // RFC 6946: offset 0 and M clear.
        let fragment = CaptureBytes.ipv6Fragment(next: 47, offset: 0, more: false, identification: 1)
        let packet = CaptureBytes.ipv6(nextHeader: 44, extensions: fragment, payload: [1, 2, 3, 4])
        let result = CaptureReader.readAll(CaptureBytes.pcap(linkType: 101, records: [(1, 0, packet)]))
        #expect(result.grePayloads == [[1, 2, 3, 4]])
        #expect(result.statistics.fragments.fragments == 0)
    }

    @Test func followsAControlConnectionOverIPv6InPcapNG() throws {
        let client = try #require(IPAddress("2001:db8::2"))
        let server = try #require(IPAddress("2001:db8::1"))
        let order = Endianness.big
        var file = CaptureBytes.sectionHeader(order) + CaptureBytes.interface(linkType: 276, tsresol: 9, order)
        let segments: [(IPAddress, IPAddress, [UInt8])] = [
            (client, server, CaptureBytes.tcp(sourcePort: 40000, destinationPort: 1723, sequence: 100, flags: .syn)),
            (
                server, client,
                CaptureBytes.tcp(
                    sourcePort: 1723,
                    destinationPort: 40000,
                    sequence: 900,
                    acknowledgment: 101,
                    flags: [.syn, .ack]
                )
            ),
            (
                client, server,
                CaptureBytes.tcp(
                    sourcePort: 40000,
                    destinationPort: 1723,
                    sequence: 101,
                    flags: [.ack, .psh],
                    payload: [1, 2, 3]
                )
            ),
            (
                server, client,
                CaptureBytes.tcp(
                    sourcePort: 1723,
                    destinationPort: 40000,
                    sequence: 901,
                    flags: [.ack, .psh],
                    payload: [4, 5]
                )
            ),
        ]
        for (index, (source, destination, tcp)) in segments.enumerated() {
            let packet = CaptureBytes.ipv6(source: source, destination: destination, nextHeader: 6, payload: tcp)
            file += CaptureBytes.enhancedPacket(
                interface: 0,
                timestamp: UInt64(index),
                data: CaptureBytes.sll2(protocolType: 0x86DD, payload: packet),
                order
            )
        }
        let result = CaptureReader.readAll(file)
        let key = TCPConnectionKey(client: client, clientPort: 40000, server: server, serverPort: 1723)
        #expect(key.description == "[2001:db8::2]:40000 -> [2001:db8::1]:1723")
        #expect(
            result.events.first
                == .tcpOpened(
                    connection: key,
                    opening: .handshake,
                    frame: 1,
                    time: CaptureTimestamp(seconds: 0, nanoseconds: 0)
                )
        )
        #expect(result.controlStream(.toServer) == [1, 2, 3])
        #expect(result.controlStream(.toClient) == [4, 5])
        #expect(
            result.events.last
                == .tcpClosed(
                    connection: key,
                    reason: .endOfCapture,
                    frame: 4,
                    time: CaptureTimestamp(seconds: 0, nanoseconds: 3)
                )
        )
    }

    // MARK: Damage

    @Test func rejectsFilesThatAreNoCapture() {
        #expect(CaptureFileReader.readAll([]).error == .truncatedFileHeader(needed: 24, available: 0))
        #expect(CaptureFileReader.readAll([0xD4, 0xC3]).error == .truncatedFileHeader(needed: 24, available: 2))
        #expect(
            CaptureFileReader.readAll(Array("GET / HTTP/1.1\r\n".utf8)).error == .unknownFileFormat(magic: 0x4745_5420)
        )
        #expect(
            CaptureFileReader.readAll(CaptureBytes.le32(0xA1B2_C3D4) + [2, 0]).error
                == .truncatedFileHeader(needed: 24, available: 6)
        )
        var version3 = CaptureBytes.pcap(linkType: 1, records: [])
        version3[4] = 3
        #expect(CaptureFileReader.readAll(version3).error == .unsupportedPcapVersion(major: 3, minor: 4))
    }

    @Test func returnsTheFramesBeforeATruncatedRecord() {
        let file = CaptureBytes.pcap(linkType: 101, records: [(1, 0, Self.greIPv4), (2, 0, Self.greIPv4)])
        let cutInData = Array(file.dropLast(5))
        let contents = CaptureFileReader.readAll(cutInData)
        #expect(contents.frames.count == 1)
        #expect(
            contents.error
                == .truncatedRecordData(
                    frame: 2,
                    offset: 24 + 16 + Self.greIPv4.count,
                    needed: Self.greIPv4.count,
                    available: Self.greIPv4.count - 5
                )
        )
        let cutInHeader = Array(file.prefix(24 + 16 + Self.greIPv4.count + 10))
        #expect(
            CaptureFileReader.readAll(cutInHeader).error
                == .truncatedRecordHeader(frame: 2, offset: 24 + 16 + Self.greIPv4.count, needed: 16, available: 10)
        )
        // The demultiplexer still reports what the good frame held.
        let result = CaptureReader.readAll(cutInData)
        #expect(result.grePayloads.count == 1)
        #expect(result.error != nil)
    }

    @Test func reportsDamagedPcapNGBlocks() {
        let order = Endianness.little
        let good =
            CaptureBytes.sectionHeader(order) + CaptureBytes.interface(linkType: 101, order)
            + CaptureBytes.enhancedPacket(interface: 0, timestamp: 0, data: Self.greIPv4, order)
        let goodCount = good.count

        var mismatch = good + CaptureBytes.enhancedPacket(interface: 0, timestamp: 0, data: Self.greIPv4, order)
        mismatch[mismatch.count - 4] ^= 0x04
        let mismatchResult = CaptureFileReader.readAll(mismatch)
        #expect(mismatchResult.frames.count == 1)
        #expect(
            mismatchResult.error
                == .blockLengthMismatch(
                    offset: goodCount,
                    leading: UInt32(mismatch.count - goodCount),
                    trailing: UInt32(mismatch.count - goodCount) ^ 0x04
                )
        )

        let unknownInterface = good + CaptureBytes.enhancedPacket(interface: 3, timestamp: 0, data: Self.greIPv4, order)
        #expect(
            CaptureFileReader.readAll(unknownInterface).error == .unknownInterface(offset: goodCount, interfaceID: 3)
        )

        var oddLength = good + CaptureBytes.block(0x99, [1, 2, 3, 4], order)
        oddLength[goodCount + 4] = 15
        #expect(
            CaptureFileReader.readAll(oddLength).error
                == .invalidBlockLength(offset: goodCount, blockType: 0x99, length: 15)
        )

        var badMagic = good + CaptureBytes.sectionHeader(order)
        badMagic[goodCount + 8] = 0
        #expect(CaptureFileReader.readAll(badMagic).error == .badByteOrderMagic(offset: goodCount, magic: 0x003C_2B1A))

        var version2 = good + CaptureBytes.sectionHeader(order)
        version2[goodCount + 12] = 2
        #expect(
            CaptureFileReader.readAll(version2).error
                == .unsupportedSectionVersion(offset: goodCount, major: 2, minor: 0)
        )

        // Captured length larger than the block.
        var overlong = good + CaptureBytes.enhancedPacket(interface: 0, timestamp: 0, data: Self.greIPv4, order)
        overlong[goodCount + 20] = 0xFF
        #expect(
            CaptureFileReader.readAll(overlong).error
                == .truncatedRecordData(
                    frame: 2,
                    offset: goodCount,
                    needed: 0xFF,
                    available: Self.greIPv4.count + (4 - Self.greIPv4.count % 4) % 4
                )
        )

        let truncated =
            good + Array(CaptureBytes.enhancedPacket(interface: 0, timestamp: 0, data: Self.greIPv4, order).prefix(20))
        #expect(
            CaptureFileReader.readAll(truncated).error
                == .truncatedBlock(
                    offset: goodCount,
                    needed: 32 + Self.greIPv4.count + (4 - Self.greIPv4.count % 4) % 4,
                    available: 20
                )
        )

        var badOption = CaptureBytes.sectionHeader(order) + CaptureBytes.interface(linkType: 101, tsresol: 9, order)
        badOption[badOption.count - 4 - 8 - 2] = 200  // if_tsresol's length now runs past the block
        #expect(CaptureFileReader.readAll(badOption).error == .malformedOption(offset: 28, code: 9, length: 200))
    }

    @Test func keepsThrowingTheSameErrorAfterDamage() {
        var reader = CaptureFileReader(bytes: [1, 2, 3, 4, 5])
        #expect(throws: CaptureError.unknownFileFormat(magic: 0x0102_0304)) { try reader.nextFrame() }
        #expect(throws: CaptureError.unknownFileFormat(magic: 0x0102_0304)) { try reader.nextFrame() }
        #expect(reader.error == .unknownFileFormat(magic: 0x0102_0304))
    }
}

import PPP

/// rtnetlink constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h).
/// They are kernel ABI and do not change; spelled out here so that the wire code reads like
/// rtnetlink(7).
enum RTNL {
    // Message types.
    static let error: UInt16 = 2  // NLMSG_ERROR
    static let done: UInt16 = 3  // NLMSG_DONE
    static let newLink: UInt16 = 16
    static let getLink: UInt16 = 18
    static let newAddress: UInt16 = 20
    static let deleteAddress: UInt16 = 21
    static let getAddress: UInt16 = 22
    static let newRoute: UInt16 = 24
    static let deleteRoute: UInt16 = 25
    static let getRoute: UInt16 = 26

    // Header flags.
    static let request: UInt16 = 0x1
    static let multi: UInt16 = 0x2
    static let ack: UInt16 = 0x4
    static let dump: UInt16 = 0x300
    static let replace: UInt16 = 0x100
    static let exclusive: UInt16 = 0x200
    static let create: UInt16 = 0x400

    // Link attributes (IFLA_*).
    static let linkName: UInt16 = 3
    static let linkMTU: UInt16 = 4
    // Address attributes (IFA_*).
    static let addressAddress: UInt16 = 1
    static let addressLocal: UInt16 = 2
    // Route attributes (RTA_*).
    static let routeDestination: UInt16 = 1
    static let routeOutputInterface: UInt16 = 4
    static let routeGateway: UInt16 = 5
    static let routePriority: UInt16 = 6
    static let routePreferredSource: UInt16 = 7
    static let routeTable: UInt16 = 15

    static let tableMain: UInt8 = 254
    static let scopeUniverse: UInt8 = 0
    static let scopeLink: UInt8 = 253
    static let typeUnicast: UInt8 = 1
    /// RTM_F_LOOKUP_TABLE: report the table of the matched route in a lookup.
    static let lookupTable: UInt32 = 0x1000

    static let headerLength = 16  // struct nlmsghdr
    static let linkHeaderLength = 16  // struct ifinfomsg
    static let addressHeaderLength = 8  // struct ifaddrmsg
    static let routeHeaderLength = 12  // struct rtmsg

    /// NLMSG_ALIGN / RTA_ALIGN: 4 octets.
    @inline(__always) static func align(_ length: Int) -> Int { (length + 3) & ~3 }
}

/// Builds one netlink request: the 16-octet nlmsghdr, a family header, then attributes
/// (struct rtattr: length, type, value, padded to 4), all in host byte order except addresses.
struct NetlinkMessageWriter {
    private(set) var bytes: [UInt8]

    init(type: UInt16, flags: UInt16, sequence: UInt32) {
        bytes = []
        bytes.reserveCapacity(128)
        append(UInt32(0))  // length, patched by `finish`
        append(type)
        append(flags)
        append(sequence)
        append(UInt32(0))  // port id: the kernel fills ours in
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    /// An IPv4 address in network order.
    mutating func append(_ address: IPv4Address) {
        append(address.rawValue.bigEndian)
    }

    mutating func padToAlignment() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// Appends an attribute whose value is written by `value` (padding added after it).
    mutating func attribute(_ type: UInt16, _ value: (inout NetlinkMessageWriter) -> Void) {
        padToAlignment()
        let start = bytes.count
        append(UInt16(0))
        append(type)
        value(&self)
        let length = UInt16(truncatingIfNeeded: bytes.count - start)
        withUnsafeBytes(of: length) { raw in
            bytes[start] = raw[0]
            bytes[start + 1] = raw[1]
        }
        padToAlignment()
    }

    mutating func attribute(_ type: UInt16, address: IPv4Address) {
        attribute(type) { $0.append(address) }
    }

    mutating func attribute(_ type: UInt16, uint32 value: UInt32) {
        attribute(type) { $0.append(value) }
    }

    mutating func attribute(_ type: UInt16, string: String) {
        attribute(type) { writer in
            writer.bytes.append(contentsOf: Array(string.utf8))
            writer.bytes.append(0)
        }
    }

    /// The finished message with its length field set.
    mutating func finish() -> [UInt8] {
        padToAlignment()
        let length = UInt32(truncatingIfNeeded: bytes.count)
        withUnsafeBytes(of: length) { raw in
            for index in 0..<4 { bytes[index] = raw[index] }
        }
        return bytes
    }
}

/// A view of one received netlink message (header already checked against the datagram).
struct NetlinkMessageView {
    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    /// The octets after the 16-octet header, up to the message's own length.
    var body: UnsafeRawBufferPointer

    /// Calls `body` for each attribute after a family header of `headerLength` octets. Stops at
    /// the first attribute whose length is below 4 or runs past the message.
    func forEachAttribute(after headerLength: Int, _ visit: (UInt16, UnsafeRawBufferPointer) -> Void) {
        var offset = RTNL.align(headerLength)
        while offset + 4 <= body.count {
            let length = Int(body.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            let type = body.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self) & 0x3FFF  // drop NLA_F_* bits
            guard length >= 4, offset + length <= body.count else { return }
            visit(type, UnsafeRawBufferPointer(rebasing: body[(offset + 4)..<(offset + length)]))
            offset += RTNL.align(length)
        }
    }

    func uint8(at offset: Int) -> UInt8? {
        offset < body.count ? body[offset] : nil
    }

    func uint32(at offset: Int) -> UInt32? {
        offset + 4 <= body.count ? body.loadUnaligned(fromByteOffset: offset, as: UInt32.self) : nil
    }
}

extension UnsafeRawBufferPointer {
    /// A 4-octet network-order IPv4 attribute value.
    var ipv4Address: IPv4Address? {
        count == 4 ? IPv4Address(rawValue: UInt32(bigEndian: loadUnaligned(as: UInt32.self))) : nil
    }

    var uint32Value: UInt32? {
        count >= 4 ? loadUnaligned(as: UInt32.self) : nil
    }

    /// A NUL-terminated string attribute.
    var cString: String {
        let end = firstIndex(of: 0) ?? count
        return String(decoding: self[0..<end], as: UTF8.self)
    }
}

/// Walks the messages of one datagram, checking each length against what is left (netlink(7):
/// NLMSG_OK). A bad length ends the walk with an error.
func forEachNetlinkMessage(
    in datagram: UnsafeRawBufferPointer,
    _ visit: (NetlinkMessageView) throws(NetworkError) -> Bool
) throws(NetworkError) {
    var offset = 0
    while offset + RTNL.headerLength <= datagram.count {
        let length = Int(datagram.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let type = datagram.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
        guard length >= RTNL.headerLength, length <= datagram.count - offset else {
            throw .netlinkMalformed(messageType: type, length: length)
        }
        let view = NetlinkMessageView(
            type: type,
            flags: datagram.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self),
            sequence: datagram.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self),
            body: UnsafeRawBufferPointer(rebasing: datagram[(offset + RTNL.headerLength)..<(offset + length)])
        )
        guard try visit(view) else { return }
        offset += RTNL.align(length)
    }
}

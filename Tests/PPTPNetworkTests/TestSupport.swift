import Dispatch
import Glibc
import PPP
import PPTPNetwork
import Synchronization
import SystemPackage
import Testing

/// Whether this process may create namespaces, TUN devices and raw sockets; the reason when not.
enum Privileges {
    static let missing: String? = {
        if geteuid() != 0 { return "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_NET_RAW)" }
        if access("/dev/net/tun", R_OK | W_OK) != 0 { return "needs /dev/net/tun" }
        if Command.locate("ip") == nil { return "needs iproute2's ip" }
        return nil
    }()

    /// True when the namespace tests can run; prints the reason once when not.
    static let available: Bool = {
        if let missing {
            print("PPTPNetworkTests: skipping the namespace tests: \(missing)")
            return false
        }
        return true
    }()
}

/// Two namespaces joined by a veth pair on 198.51.100.0/24 (.1 in `left`, .2 in `right`),
/// deleted by `close()`.
struct NamespacePair {
    let left: NetworkNamespace
    let right: NetworkNamespace
    let veth: VethPair

    static let leftAddress = IPv4Address(198, 51, 100, 1)
    static let rightAddress = IPv4Address(198, 51, 100, 2)

    init() throws {
        left = try NetworkNamespace.create(prefix: "pptpt")
        do {
            right = try NetworkNamespace.create(prefix: "pptpt")
        } catch {
            try? left.delete()
            throw error
        }
        do {
            veth = try VethPair.create(left, Self.leftAddress, right, Self.rightAddress, prefixLength: 24)
        } catch {
            try? left.delete()
            try? right.delete()
            throw error
        }
    }

    func close() throws {
        try left.delete()
        try right.delete()
        let remaining = try NetworkNamespace.list()
        #expect(!remaining.contains(left.name) && !remaining.contains(right.name))
    }
}

/// Waits until `descriptor` is readable or `seconds` pass; true when readable.
func waitReadable(_ descriptor: Int32, seconds: Int64 = 5) throws -> Bool {
    let epoll = try Epoll()
    defer { epoll.close() }
    try epoll.add(descriptor, events: .readable, tag: 1)
    let events = Epoll.EventBuffer(capacity: 4)
    let ready = try epoll.wait(into: events, timeoutNanoseconds: seconds * 1_000_000_000)
    return ready > 0
}

/// The Internet checksum (RFC 1071) of `bytes`.
func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
    bytes.withUnsafeBytes { IPv4Packet.checksum($0) }
}

/// An ICMP echo request (RFC 792) of `payload`, without IP header.
func icmpEchoRequest(identifier: UInt16, sequence: UInt16, payload: [UInt8]) -> [UInt8] {
    var message: [UInt8] =
        [
            8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(sequence >> 8),
            UInt8(sequence & 0xFF),
        ] + payload
    let checksum = internetChecksum(message)
    message[2] = UInt8(checksum >> 8)
    message[3] = UInt8(checksum & 0xFF)
    return message
}

/// An IPv4 packet (RFC 791) around `payload`, with a correct header checksum.
func ipv4Packet(source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8, payload: [UInt8]) -> [UInt8] {
    IPv4Packet.build(source: source, destination: destination, protocolNumber: protocolNumber, payload: payload)
}

/// Sends `payload` from a new socket of `type`/`protocolNumber` to `destination` (in the
/// calling thread's namespace).
func sendDatagram(
    _ payload: [UInt8],
    to destination: IPv4Address,
    port: UInt16 = 0,
    type: Int32,
    protocolNumber: Int32
) -> Int {
    let fd = socket(AF_INET, type, protocolNumber)
    guard fd >= 0 else { return -Int(errno) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr = in_addr(s_addr: destination.rawValue.bigEndian)
    return payload.withUnsafeBytes { bytes in
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

/// Creates a fresh directory under /tmp (mkdtemp(3)) and returns its path.
func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let created = template.withUnsafeMutableBufferPointer { $0.baseAddress.map { mkdtemp($0) != nil } ?? false }
    guard created else { throw NetworkError.system(.open, .init(rawValue: errno)) }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Reads packets from `tun` until one is IPv4 (the kernel may also send IPv6 router
/// solicitations or MLD reports into a new interface); nil when none arrives in time.
func readIPv4Packet(from tun: TunDevice, into buffer: UnsafeMutableRawBufferPointer) throws -> [UInt8]? {
    while try waitReadable(tun.fileDescriptor) {
        guard let length = try tun.read(into: buffer) else { continue }
        if length > 0, buffer[0] >> 4 == 4 { return Array(buffer[0..<length]) }
    }
    return nil
}

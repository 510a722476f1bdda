import PPP
import SystemPackage

/// The system calls (and library calls) that PPTPNetwork makes, named in errors and logs.
public enum SystemCall: String, Hashable, Sendable, CustomStringConvertible {
    case open, close, read, write, readv, writev, ioctl, fcntl
    case socket, bind, connect, setsockopt, getsockopt, sendto, recvfrom, sendmmsg, recvmmsg
    case epollCreate = "epoll_create1"
    case epollControl = "epoll_ctl"
    case epollWait = "epoll_wait"
    case eventfd, pipe, sigaction
    case pthreadCreate = "pthread_create"
    case setns, unshare
    case posixSpawn = "posix_spawn"
    case waitpid, kill, poll
    case stat, lstat, readlink, symlink, unlink, rename, fsync

    public var description: String { rawValue }
}

/// Every error of PPTPNetwork. System errors carry the call and its `errno`; nothing here traps
/// on an operating-system error.
public enum NetworkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A system call failed with `errno`.
    case system(SystemCall, Errno)
    /// The kernel answered a netlink request with an error (NLMSG_ERROR, RFC 3549 §2.3.2.2).
    case netlink(NetlinkRequest, Errno)
    /// A netlink answer that does not parse: a length field that runs past the datagram or below
    /// the header, or a truncated datagram.
    case netlinkMalformed(messageType: UInt16, length: Int)
    /// An interface name needs 1 to 15 octets (IFNAMSIZ − 1).
    case interfaceNameLength(Int)
    /// No interface of that index (or the name did not resolve to one).
    case noSuchInterface(index: UInt32)
    /// The kernel has no route to the address (RTM_GETROUTE answered with none).
    case noRoute(to: IPv4Address)
    /// A prefix length outside 0...32.
    case prefixLength(Int)
    /// An external command (e.g. `ip`, `resolvectl`) exited with a non-zero status or was killed
    /// by a signal (status ≥ 128: 128 + signal).
    case commandFailed(executable: String, status: Int32)
    /// A packet batch was configured with impossible sizes (count, buffer size, headroom).
    case batchGeometry(count: Int, bufferSize: Int, headroom: Int)
    /// The DNS configuration file carries our marker, so a previous run did not restore it;
    /// `ResolvConf.recover()` restores the backup.
    case resolvConfAlreadyOurs
    /// The resolv.conf backup is missing or does not match what we saved, so we refuse to
    /// overwrite the file.
    case resolvConfBackupMissing
    /// The object was already closed.
    case closed

    public var description: String {
        switch self {
        case .system(let call, let errno): "\(call): \(errno) (errno \(errno.rawValue))"
        case .netlink(let request, let errno): "netlink \(request): \(errno) (errno \(errno.rawValue))"
        case .netlinkMalformed(let type, let length): "malformed netlink message type \(type), length \(length)"
        case .interfaceNameLength(let length): "interface name of \(length) octets (1 to 15 allowed)"
        case .noSuchInterface(let index): "no interface with index \(index)"
        case .noRoute(let address): "no route to \(address)"
        case .prefixLength(let length): "prefix length \(length) outside 0...32"
        case .commandFailed(let executable, let status): "\(executable) exited with status \(status)"
        case .batchGeometry(let count, let size, let headroom):
            "packet batch of \(count) × \(size) octets with headroom \(headroom) is impossible"
        case .resolvConfAlreadyOurs: "resolv.conf already carries the pptp marker of an earlier run"
        case .resolvConfBackupMissing: "the resolv.conf backup is missing or differs from the one we saved"
        case .closed: "already closed"
        }
    }
}

/// The netlink requests we make (rtnetlink, rtnetlink(7)).
public enum NetlinkRequest: String, Hashable, Sendable, CustomStringConvertible {
    case newLink = "RTM_NEWLINK"
    case getLink = "RTM_GETLINK"
    case newAddress = "RTM_NEWADDR"
    case deleteAddress = "RTM_DELADDR"
    case getAddress = "RTM_GETADDR"
    case newRoute = "RTM_NEWROUTE"
    case deleteRoute = "RTM_DELROUTE"
    case getRoute = "RTM_GETROUTE"

    public var description: String { rawValue }
}

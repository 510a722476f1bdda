import CPPTPNetwork
import Glibc
import Synchronization
import SystemPackage

/// External commands (posix_spawn(3)): `ip netns …` for the namespace utilities and
/// `resolvectl` for DNS with systemd-resolved. Nothing on the data path spawns.
public enum Command {
    /// What a finished command printed, and how it ended.
    public struct Output: Hashable, Sendable {
        /// The exit status; 128 + N when killed by signal N.
        public var status: Int32
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]

        /// Standard output as text.
        public var text: String { String(decoding: standardOutput, as: UTF8.self) }
        /// Standard error as text.
        public var errorText: String { String(decoding: standardError, as: UTF8.self) }
    }

    /// Where a spawned process's output goes.
    public enum OutputDestination: Hashable, Sendable {
        /// The same as ours.
        case inherit
        /// /dev/null.
        case discard
        /// Appended to a file (created if missing).
        case file(String)
    }

    /// The absolute path of an executable: `name` itself if it contains a slash, else the first
    /// match in $PATH, then /usr/sbin, /sbin, /usr/bin and /bin (a non-login root shell may lack
    /// the sbin directories). Nil when not found.
    public static func locate(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        var directories = (getenv("PATH").map { String(cString: $0) } ?? "").split(separator: ":").map(String.init)
        directories += ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let path = directory + "/" + name
            if access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// Runs a command to its end and returns its status and output. Does not throw for a
    /// non-zero status (see `check`).
    public static func run(_ arguments: [String]) throws(NetworkError) -> Output {
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        // Close-on-exec from the start: a process spawned meanwhile by another thread must not
        // inherit a write end, or our read would wait for that process to end.
        _ = try systemCall(.pipe) { cpptp_pipe_cloexec(&outputPipe, 0) }
        do throws(NetworkError) {
            _ = try systemCall(.pipe) { cpptp_pipe_cloexec(&errorPipe, 0) }
        } catch {
            closeDescriptor(outputPipe[0])
            closeDescriptor(outputPipe[1])
            throw error
        }
        let pid: pid_t
        do throws(NetworkError) {
            pid = try spawn(arguments, standardOutput: outputPipe[1], standardError: errorPipe[1])
        } catch {
            for fd in outputPipe + errorPipe { closeDescriptor(fd) }
            throw error
        }
        closeDescriptor(outputPipe[1])
        closeDescriptor(errorPipe[1])
        defer {
            closeDescriptor(outputPipe[0])
            closeDescriptor(errorPipe[0])
        }
        var output: [UInt8] = []
        var errorOutput: [UInt8] = []
        try drain(outputPipe[0], errorPipe[0], into: &output, &errorOutput)
        let status = try waitForExit(pid)
        return Output(status: status, standardOutput: output, standardError: errorOutput)
    }

    /// Runs a command and throws `.commandFailed` when its status is not 0.
    @discardableResult
    public static func check(_ arguments: [String]) throws(NetworkError) -> Output {
        let output = try run(arguments)
        guard output.status == 0 else {
            throw .commandFailed(executable: arguments.first ?? "", status: output.status)
        }
        return output
    }

    /// Starts a command and returns at once.
    public static func spawn(
        _ arguments: [String],
        output: OutputDestination = .inherit
    ) throws(NetworkError) -> ChildProcess {
        var fd: Int32 = -1
        switch output {
        case .inherit: break
        case .discard: fd = try systemCall(.open) { open("/dev/null", O_WRONLY | O_CLOEXEC) }
        case .file(let path):
            fd = try systemCall(.open) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
        }
        defer { if fd >= 0 { closeDescriptor(fd) } }
        let pid = try spawn(arguments, standardOutput: fd, standardError: fd)
        return ChildProcess(pid: pid, executable: arguments.first ?? "")
    }

    /// posix_spawn with stdin from /dev/null, the given output descriptors (-1: inherit), the
    /// default disposition for the signals we handle or ignore, and an empty signal mask (the
    /// caller may block SIGINT/SIGTERM; a child must not inherit that).
    static func spawn(
        _ arguments: [String],
        standardOutput: Int32,
        standardError: Int32
    ) throws(NetworkError)
        -> pid_t
    {
        guard let name = arguments.first, let executable = locate(name) else {
            throw .system(.posixSpawn, .noSuchFileOrDirectory)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if standardOutput >= 0 { posix_spawn_file_actions_adddup2(&actions, standardOutput, 1) }
        if standardError >= 0 { posix_spawn_file_actions_adddup2(&actions, standardError, 2) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments.dropFirst()).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let terminated = argv + [nil]
        let result = posix_spawn(&pid, executable, &actions, &attributes, terminated, environ)
        guard result == 0 else { throw .system(.posixSpawn, Errno(rawValue: result)) }
        return pid
    }

    /// Reads two pipes to their ends without letting either fill up.
    private static func drain(
        _ first: Int32,
        _ second: Int32,
        into firstBytes: inout [UInt8],
        _ secondBytes: inout [UInt8]
    ) throws(NetworkError) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 8)
        defer { chunk.deallocate() }
        var open = [true, true]
        while open[0] || open[1] {
            var descriptors = [
                pollfd(fd: open[0] ? first : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open[1] ? second : -1, events: Int16(POLLIN), revents: 0),
            ]
            _ = try systemCall(.poll) { poll(&descriptors, 2, -1) }
            for index in 0..<2 where open[index] && descriptors[index].revents != 0 {
                let fd = index == 0 ? first : second
                let count = try systemCall(.read) { read(fd, chunk.baseAddress, chunk.count) }
                if count == 0 {
                    open[index] = false
                } else if index == 0 {
                    firstBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
                } else {
                    secondBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
                }
            }
        }
    }

    /// waitpid(2) until the process ends; its exit status, or 128 + N when killed by signal N.
    static func waitForExit(_ pid: pid_t, options: Int32 = 0) throws(NetworkError) -> Int32 {
        var status: Int32 = 0
        _ = try systemCall(.waitpid) { waitpid(pid, &status, options) }
        return decodeStatus(status)
    }

    static func decodeStatus(_ status: Int32) -> Int32 {
        // <sys/wait.h>: the low 7 bits are the terminating signal, 0 for a normal exit.
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

/// A process started by `Command.spawn` or `NetworkNamespace.spawn`.
public final class ChildProcess: Sendable {
    /// Its process id.
    public let pid: pid_t
    /// The command's first argument.
    public let executable: String
    private let exitStatus = Mutex<Int32?>(nil)

    init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// The exit status once it has ended (reaping it), nil while it runs.
    public func poll() throws(NetworkError) -> Int32? {
        try exitStatus.withLock { status throws(NetworkError) in
            if let status { return status }
            var raw: Int32 = 0
            let result = try systemCall(.waitpid) { waitpid(pid, &raw, WNOHANG) }
            guard result == pid else { return nil }
            status = Command.decodeStatus(raw)
            return status
        }
    }

    /// Waits for the process to end and returns its exit status (128 + N for signal N).
    @discardableResult
    public func wait() throws(NetworkError) -> Int32 {
        if let status = exitStatus.withLock({ $0 }) { return status }
        let status = try Command.waitForExit(pid)
        exitStatus.withLock { $0 = status }
        return status
    }

    /// Sends a signal (SIGTERM by default) unless the process has been reaped.
    public func signal(_ signal: Int32 = SIGTERM) {
        exitStatus.withLock { status in
            if status == nil { _ = kill(pid, signal) }
        }
    }

    /// Ends the process: SIGTERM, then SIGKILL if it has not ended after `grace`
    /// nanoseconds; reaps it and returns its status.
    @discardableResult
    public func terminate(graceNanoseconds: Int64 = 2_000_000_000) throws(NetworkError) -> Int32 {
        if let status = try poll() { return status }
        signal(SIGTERM)
        var waited: Int64 = 0
        while waited < graceNanoseconds {
            if let status = try poll() { return status }
            var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&pause, nil)
            waited += 10_000_000
        }
        signal(SIGKILL)
        return try wait()
    }
}

import CPPTPNetwork
import Dispatch
import Glibc
import Synchronization
import SystemPackage

/// A dedicated POSIX thread with a name (shown by `top -H`, `ps -L` and in core dumps), for a
/// data-plane loop that blocks in epoll. Optionally the thread first enters a network namespace
/// with setns(2), which moves only that thread: Swift concurrency threads must never be moved,
/// since other tasks run on them afterwards.
public final class NamedThread: Sendable {
    /// The name given (the kernel keeps its first 15 octets).
    public let name: String
    private let thread: pthread_t
    private let joined = Atomic<Bool>(false)

    private init(name: String, thread: pthread_t) {
        self.name = name
        self.thread = thread
    }

    /// Starts a thread running `body`. With `namespace`, the thread enters it before `body`
    /// runs; if that fails, `body` does not run and the error is thrown here.
    public static func start(
        name: String,
        namespace: NetworkNamespace? = nil,
        _ body: @escaping @Sendable () -> Void
    ) throws(NetworkError) -> NamedThread {
        var namespaceDescriptor: Int32 = -1
        if let namespace {
            namespaceDescriptor = try systemCall(.open) { Glibc.open(namespace.path, O_RDONLY | O_CLOEXEC) }
        }
        let start = ThreadStart(name: name, namespaceDescriptor: namespaceDescriptor, body: body)
        let argument = Unmanaged.passRetained(start).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { raw in
                guard let raw else { return nil }
                let start = Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue()
                start.run()
                return nil
            },
            argument
        )
        if result != 0 {
            Unmanaged<ThreadStart>.fromOpaque(argument).release()
            if namespaceDescriptor >= 0 { closeDescriptor(namespaceDescriptor) }
            throw .system(.pthreadCreate, Errno(rawValue: result))
        }
        start.started.wait()
        if let error = start.entryError.withLock({ $0 }) {
            // The thread ends at once without running `body`.
            pthread_join(thread, nil)
            throw error
        }
        return NamedThread(name: name, thread: thread)
    }

    /// Waits for the thread to end. Call once (a second call returns at once).
    public func join() {
        guard !joined.exchange(true, ordering: .relaxed) else { return }
        pthread_join(thread, nil)
    }

    /// Runs `body` on a new thread (in `namespace` if given), waits for it and returns its
    /// result or throws its error. For work that must happen inside a namespace (opening
    /// sockets and TUN devices there: they stay in that namespace whichever thread uses them).
    /// The calling thread blocks meanwhile.
    public static func run<T: Sendable>(
        name: String = "pptp-netns",
        namespace: NetworkNamespace? = nil,
        _ body: @escaping @Sendable () throws -> T
    ) throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let thread = try start(name: name, namespace: namespace) {
            let result = Result { try body() }
            outcome.withLock { $0 = result }
        }
        thread.join()
        guard let result = outcome.withLock({ $0 }) else { throw NetworkError.closed }
        return try result.get()
    }
}

/// What a new thread needs: its name, the namespace to enter and the body; and the handshake
/// that reports entering the namespace back to `start`.
private final class ThreadStart: Sendable {
    let name: String
    let namespaceDescriptor: Int32
    let body: @Sendable () -> Void
    let started = DispatchSemaphore(value: 0)
    let entryError = Mutex<NetworkError?>(nil)

    init(name: String, namespaceDescriptor: Int32, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.namespaceDescriptor = namespaceDescriptor
        self.body = body
    }

    func run() {
        _ = cpptp_pthread_setname(pthread_self(), name)
        if namespaceDescriptor >= 0 {
            let result = cpptp_setns(namespaceDescriptor, cpptp_clone_newnet())
            let error = result < 0 ? Errno(rawValue: errno) : nil
            closeDescriptor(namespaceDescriptor)
            if let error {
                entryError.withLock { $0 = .system(.setns, error) }
                started.signal()
                return
            }
        }
        started.signal()
        body()
    }
}

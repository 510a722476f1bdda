import CPPTPNetwork
import Glibc
import Synchronization
import SystemPackage

/// Runs handlers when the process receives SIGINT, SIGTERM (or other signals), for an orderly
/// shutdown that removes routes, addresses and DNS settings (`NetworkChanges.undo()`).
///
/// A process-wide sigaction(2) handler writes the signal number to a pipe (write(2) is
/// async-signal-safe); a dedicated thread, "pptp-signals", reads the pipe and calls the
/// handlers there, as ordinary code. This works whichever thread the kernel picks for the
/// signal, unlike signalfd(2), which needs the signal blocked in every thread (including those
/// of Swift concurrency and NIO, which we do not create). While a watcher is active the signal
/// no longer ends the process: the handler decides. When the last watcher of a signal stops,
/// its previous disposition comes back.
///
/// Usable from plain code (`start`/`stop`) and from async code (`signals()`).
public final class SignalWatcher: Sendable {
    /// The signals this watcher handles.
    public let signals: Set<Int32>
    private let identifier: Int

    private init(signals: Set<Int32>, identifier: Int) {
        self.signals = signals
        self.identifier = identifier
    }

    /// Starts calling `handler` (on the "pptp-signals" thread) for each of `signals` received.
    public static func start(
        signals: Set<Int32> = [SIGINT, SIGTERM],
        _ handler: @escaping @Sendable (Int32) -> Void
    ) throws(NetworkError) -> SignalWatcher {
        try SignalDispatcher.shared.add(signals: signals, handler: handler)
    }

    /// Stops this watcher. Signals that no other watcher handles get back their previous
    /// disposition (for SIGINT and SIGTERM usually: end the process). Later calls do nothing.
    public func stop() {
        SignalDispatcher.shared.remove(identifier)
    }

    /// The signals received from now on, as an async sequence; watching stops when the
    /// sequence is dropped or its task is cancelled.
    public static func signals(_ signals: Set<Int32> = [SIGINT, SIGTERM]) throws(NetworkError) -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let watcher = try start(signals: signals) { continuation.yield($0) }
        continuation.onTermination = { _ in watcher.stop() }
        return stream
    }

    fileprivate static func make(signals: Set<Int32>, identifier: Int) -> SignalWatcher {
        SignalWatcher(signals: signals, identifier: identifier)
    }
}

/// The write end of the signal pipe, read by the C handler (an atomic load is async-signal-safe).
private let signalPipeWriteEnd = Atomic<Int32>(-1)

/// The process-wide handler state: the pipe, the thread, the handlers and the saved
/// dispositions.
private final class SignalDispatcher: Sendable {
    static let shared = SignalDispatcher()

    private struct Watcher {
        var signals: Set<Int32>
        var handler: @Sendable (Int32) -> Void
    }

    private struct State {
        var started = false
        var nextIdentifier = 0
        var watchers: [Int: Watcher] = [:]
        /// sigaction(2) dispositions replaced by ours, as the address of saved storage.
        var saved: [Int32: UInt] = [:]
    }

    private let state = Mutex(State())

    func add(signals: Set<Int32>, handler: @escaping @Sendable (Int32) -> Void) throws(NetworkError) -> SignalWatcher {
        try state.withLock { state throws(NetworkError) in
            if !state.started {
                try startThread()
                state.started = true
            }
            for signal in signals where state.saved[signal] == nil {
                let storage = UnsafeMutableRawPointer.allocate(byteCount: Int(cpptp_sigaction_size()), alignment: 16)
                let result = cpptp_install_signal_handler(
                    signal,
                    { number in
                        let savedErrno = errno
                        let fd = signalPipeWriteEnd.load(ordering: .relaxed)
                        if fd >= 0 {
                            var byte = UInt8(truncatingIfNeeded: number)
                            _ = write(fd, &byte, 1)
                        }
                        errno = savedErrno
                    },
                    storage
                )
                if result < 0 {
                    let error = Errno(rawValue: errno)
                    storage.deallocate()
                    throw .system(.sigaction, error)
                }
                state.saved[signal] = UInt(bitPattern: storage)
            }
            state.nextIdentifier += 1
            state.watchers[state.nextIdentifier] = Watcher(signals: signals, handler: handler)
            return SignalWatcher.make(signals: signals, identifier: state.nextIdentifier)
        }
    }

    func remove(_ identifier: Int) {
        state.withLock { state in
            guard state.watchers.removeValue(forKey: identifier) != nil else { return }
            let stillWatched = state.watchers.values.reduce(into: Set<Int32>()) { $0.formUnion($1.signals) }
            for (signal, address) in state.saved where !stillWatched.contains(signal) {
                guard let storage = UnsafeMutableRawPointer(bitPattern: address) else { continue }
                _ = cpptp_restore_signal_handler(signal, storage)
                storage.deallocate()
                state.saved[signal] = nil
            }
        }
    }

    /// Creates the pipe and the thread that reads it; both live as long as the process.
    private func startThread() throws(NetworkError) {
        var ends: [Int32] = [-1, -1]
        // A full pipe must not block the signal handler: excess signals are dropped, the
        // thread has plenty to act on already.
        _ = try systemCall(.pipe) { cpptp_pipe_cloexec(&ends, 1) }
        let readEnd = ends[0]
        signalPipeWriteEnd.store(ends[1], ordering: .relaxed)
        _ = try NamedThread.start(name: "pptp-signals") { [self] in
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                guard count == 1 else { return }
                let signal = Int32(byte)
                let handlers = state.withLock { state in
                    state.watchers.values.filter { $0.signals.contains(signal) }.map(\.handler)
                }
                for handler in handlers { handler(signal) }
            }
        }
    }
}

import Dispatch
import Glibc
import PPTPNetwork
import Synchronization
import Testing

@Suite struct EventTests {
    @Test func eventFDWakesEpollFromAnotherThread() throws {
        let epoll = try Epoll()
        let wakeUp = try EventFD()
        defer {
            epoll.close()
            wakeUp.close()
        }
        try epoll.add(wakeUp.fileDescriptor, events: .readable, tag: 42)
        let events = Epoll.EventBuffer(capacity: 8)
        #expect(try epoll.wait(into: events, timeoutNanoseconds: 0) == 0)
        let thread = try NamedThread.start(name: "pptp-test-wake") {
            try? wakeUp.signal()
            try? wakeUp.signal()
        }
        thread.join()
        #expect(try epoll.wait(into: events, timeoutNanoseconds: 5_000_000_000) == 1)
        #expect(events[0].tag == 42)
        #expect(events[0].events.contains(.readable))
        #expect(try wakeUp.drain() == 2)
        #expect(try wakeUp.drain() == 0)
        #expect(try epoll.wait(into: events, timeoutNanoseconds: 1_000) == 0)
        try epoll.remove(wakeUp.fileDescriptor)
    }

    @Test func namedThreadRunsAndReturnsItsResult() throws {
        let value = try NamedThread.run(name: "pptp-test-run") { () -> Int in
            var name = [CChar](repeating: 0, count: 32)
            let fd = open("/proc/thread-self/comm", O_RDONLY)
            defer { close(fd) }
            _ = read(fd, &name, 31)
            return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).hasPrefix(
                "pptp-test-run"
            ) ? 7 : 0
        }
        #expect(value == 7)
        struct Failure: Error {}
        #expect(throws: Failure.self) { try NamedThread.run { () throws -> Int in throw Failure() } }
    }

    @Test func commandReportsStatusAndOutput() throws {
        let output = try Command.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(output.status == 3)
        #expect(output.text == "out\n")
        #expect(output.errorText == "err\n")
        #expect(throws: NetworkError.commandFailed(executable: "false", status: 1)) { try Command.check(["false"]) }
        let child = try Command.spawn(["sleep", "30"], output: .discard)
        #expect(try child.poll() == nil)
        #expect(try child.terminate() == 128 + SIGTERM)
    }

    /// SIGTERM sent to ourselves reaches the watcher's handler and does not end the process.
    @Test func signalWatcherHandlesSIGTERMSentToSelf() throws {
        let received = DispatchSemaphore(value: 0)
        let signals = Mutex<[Int32]>([])
        let watcher = try SignalWatcher.start(signals: [SIGTERM, SIGUSR2]) { signal in
            signals.withLock { $0.append(signal) }
            received.signal()
        }
        #expect(kill(getpid(), SIGUSR2) == 0)
        #expect(received.wait(timeout: .now() + 10) == .success)
        #expect(kill(getpid(), SIGTERM) == 0)
        #expect(received.wait(timeout: .now() + 10) == .success)
        watcher.stop()
        #expect(signals.withLock { $0 } == [SIGUSR2, SIGTERM])
    }

    @Test func signalWatcherAsSequence() async throws {
        let stream = try SignalWatcher.signals([SIGUSR1])
        #expect(kill(getpid(), SIGUSR1) == 0)
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next() == SIGUSR1)
    }
}

import NIOCore
import NIOEmbedded
import Testing

@testable import PPTPServer

/// The shared timer heap of a server event loop's control connections, on an embedded loop whose
/// clock the test moves.
@Suite struct ControlTimersTests {
    /// Records what fired, in order; optionally schedules itself again when it fires.
    final class Client: ControlTimerClient {
        let name: String
        let log: Log
        var id = 0
        var again: (timers: ControlTimers, after: TimeAmount, times: Int)?

        init(_ name: String, log: Log) {
            self.name = name
            self.log = log
        }

        func timerFired(_ deadline: NIODeadline) {
            log.entries.append((name, deadline))
            if let again, again.times > 0 {
                self.again?.times -= 1
                again.timers.schedule(id, at: deadline + again.after)
            }
        }
    }

    final class Log {
        var entries: [(name: String, deadline: NIODeadline)] = []
        var names: [String] { entries.map(\.name) }
    }

    @Test func entriesFireInDeadlineOrderAndOnlyWhenDue() {
        let loop = EmbeddedEventLoop()
        let timers = ControlTimers(eventLoop: loop)
        let log = Log()
        let start = loop.now
        let clients = ["a", "b", "c"].map { Client($0, log: log) }
        for client in clients { client.id = timers.register(client) }
        timers.schedule(clients[0].id, at: start + .milliseconds(30))
        timers.schedule(clients[1].id, at: start + .milliseconds(10))
        timers.schedule(clients[2].id, at: start + .milliseconds(20))

        loop.advanceTime(by: .milliseconds(9))
        #expect(log.names.isEmpty)
        loop.advanceTime(by: .milliseconds(6))
        #expect(log.names == ["b"])
        #expect(log.entries.first?.deadline == start + .milliseconds(10))
        loop.advanceTime(by: .milliseconds(20))
        #expect(log.names == ["b", "c", "a"])
        #expect(timers.count == 0)
    }

    @Test func anUnregisteredClientIsSkipped() {
        let loop = EmbeddedEventLoop()
        let timers = ControlTimers(eventLoop: loop)
        let log = Log()
        let a = Client("a", log: log)
        let b = Client("b", log: log)
        a.id = timers.register(a)
        b.id = timers.register(b)
        timers.schedule(a.id, at: loop.now + .milliseconds(10))
        timers.schedule(b.id, at: loop.now + .milliseconds(10))
        timers.unregister(a.id)
        loop.advanceTime(by: .milliseconds(10))
        #expect(log.names == ["b"])
        #expect(timers.count == 0)  // the stale entry was dropped too
    }

    @Test func anEarlierDeadlineMovesTheWakeUp() {
        let loop = EmbeddedEventLoop()
        let timers = ControlTimers(eventLoop: loop)
        let log = Log()
        let late = Client("late", log: log)
        let early = Client("early", log: log)
        late.id = timers.register(late)
        early.id = timers.register(early)
        timers.schedule(late.id, at: loop.now + .seconds(60))
        timers.schedule(early.id, at: loop.now + .milliseconds(5))
        loop.advanceTime(by: .milliseconds(5))
        #expect(log.names == ["early"])
        loop.advanceTime(by: .seconds(59))
        #expect(log.names == ["early"])
        loop.advanceTime(by: .seconds(1))
        #expect(log.names == ["early", "late"])
    }

    @Test func aClientThatReschedulesWhileFiringFiresAgain() {
        let loop = EmbeddedEventLoop()
        let timers = ControlTimers(eventLoop: loop)
        let log = Log()
        let echo = Client("echo", log: log)
        echo.id = timers.register(echo)
        echo.again = (timers, .seconds(60), 2)
        let start = loop.now
        timers.schedule(echo.id, at: start + .seconds(60))
        loop.advanceTime(by: .seconds(180))
        #expect(log.names == ["echo", "echo", "echo"])
        #expect(log.entries.map(\.deadline) == [60, 120, 180].map { start + .seconds($0) })
        loop.advanceTime(by: .seconds(600))
        #expect(log.entries.count == 3)
    }

    @Test func aThousandEntriesInScrambledOrderFireSorted() {
        let loop = EmbeddedEventLoop()
        let timers = ControlTimers(eventLoop: loop)
        let log = Log()
        var clients: [Client] = []
        for index in 0..<1000 {
            let client = Client("\(index)", log: log)
            client.id = timers.register(client)
            clients.append(client)
            // Deadlines in a scrambled order, 1 ms apart.
            timers.schedule(client.id, at: loop.now + .milliseconds(Int64((index * 7919) % 1000)))
        }
        loop.advanceTime(by: .seconds(1))
        #expect(log.entries.count == 1000)
        let deadlines = log.entries.map(\.deadline)
        #expect(deadlines == deadlines.sorted())
    }
}

import NIOCore
import PPTPNetwork

/// What `ControlTimers` fires: a control connection's handler (or a test's stand-in).
protocol ControlTimerClient: AnyObject {
    /// The entry scheduled for `deadline` came up (on the timers' event loop, at or after `deadline`).
    func timerFired(_ deadline: NIODeadline)
}

/// The timers of every control connection on one event loop, in one min-heap of plain values
/// behind one scheduled task.
///
/// One NIO scheduled task per connection does not scale: the event loop keeps its tasks in a
/// heap of `ScheduledTask` values, each holding references, so every sift step of a pop copies
/// tasks and retains and releases their (cold) objects, and cancelling searches the whole heap.
/// With 16 700 connections a pop measured about 40 µs (perf: `Heap._remove` and
/// `ScheduledTask` copies, 11 % of the idle server's CPU); with 100 000 it is more. Here an
/// entry is a deadline and an integer, and stale entries (a connection that re-armed for another
/// deadline, or went) are skipped when they come up (lazy deletion).
///
/// Confined to `eventLoop`: every method must be called on it. It is `@unchecked Sendable` only
/// so that the channel initializer (a `@Sendable` closure) can hand it to the handlers it makes on
/// that loop; each use asserts the loop.
final class ControlTimers: @unchecked Sendable {
    let eventLoop: any EventLoop
    private var heap = DeadlineHeap<Int>()
    private var handlers: [Int: any ControlTimerClient] = [:]
    private var nextID = 0
    private var task: Scheduled<Void>?
    private var taskDeadline: NIODeadline?
    /// `fire` is running: handlers re-arming meanwhile do not move the task; `fire` arms it last.
    private var firing = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Registers a handler; its timers fire through `timerFired`. The handler is held until `unregister`.
    func register(_ handler: any ControlTimerClient) -> Int {
        eventLoop.assertInEventLoop()
        nextID += 1
        handlers[nextID] = handler
        return nextID
    }

    /// Forgets a handler (its pending entries are skipped when they come up).
    func unregister(_ id: Int) {
        eventLoop.assertInEventLoop()
        handlers[id] = nil
    }

    /// Fires `id`'s handler at `deadline` (or a little after, when the loop gets to it).
    func schedule(_ id: Int, at deadline: NIODeadline) {
        eventLoop.assertInEventLoop()
        heap.push(deadline, id)
        if !firing, taskDeadline.map({ deadline < $0 }) ?? true { armTask(at: deadline) }
    }

    private func armTask(at deadline: NIODeadline) {
        task?.cancel()  // our one task: the loop's task heap is small
        taskDeadline = deadline
        task = eventLoop.scheduleTask(deadline: deadline) { [self] in
            task = nil
            taskDeadline = nil
            fire()
        }
    }

    private func fire() {
        let now = eventLoop.now  // the loop's clock (an embedded loop's in tests)
        firing = true
        while let (deadline, id) = heap.popDue(now: now) {
            handlers[id]?.timerFired(deadline)
        }
        firing = false
        if let first = heap.peek(), taskDeadline.map({ first < $0 }) ?? true { armTask(at: first) }
    }

    var count: Int { heap.count }
}

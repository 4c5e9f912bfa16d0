import Dispatch
import Glibc
import Logging
import Synchronization
import TaskgateCore

/// Runs tasks in long-lived processes of any language (`--exec-persistent CMD`): a pool of `/bin/sh -c CMD`
/// processes that each take task lines on standard input and answer on standard output
/// (``PersistentProtocol``), so a task costs a line each way instead of a process start.
///
/// Each task goes to the least busy process; with fewer processes than slots, several tasks are in flight on one
/// process. A process that exits fails the tasks it was running, and one that writes a malformed answer fails
/// that task alone and is replaced: it gets no new task and its input is closed once it has answered the rest.
/// An attempt stopped by the worker (an operator's cancel, time-out, lost lease, shutdown) takes its process down
/// (SIGTERM to its process group, SIGKILL after ``killGracePeriod``; other tasks in flight on it fail too, only
/// with a pool smaller than the slots), unless the pool runs with ``cancelLines``: then the process gets a
/// cancel line for that task (`{"cancel":"<id>"}`), takes no new task until it has answered that task, and is
/// killed and replaced only if it has not answered within ``killGracePeriod``. A replaced process's slot starts a new one at
/// once when the old one had answered well, else after a backoff that doubles up to 10 s. Standard error goes
/// to the worker's log, and its last lines into the failure of the tasks a dying process takes with it.
public final class PersistentProcessPool: TaskHandler, PersistentIOEvents {
    /// The command, run through `/bin/sh -c`.
    public let command: String
    /// How many processes run at once.
    public let processes: Int
    /// The most bytes of a result kept.
    public let maxResultBytes: Int
    /// How long a stopped process has between SIGTERM and SIGKILL, and to answer a cancelled task.
    public let killGracePeriod: Duration
    /// Whether the processes understand cancel lines (opt-in: a process that does not would read one as a task).
    public let cancelLines: Bool
    /// What each process's environment starts from: the worker's, without Taskgate's settings and secrets.
    public let environment: ChildEnvironment
    private let queue: QueueName
    private let logger: Logger
    private let loop: PersistentIOLoop

    private struct State {
        var slots: [PersistentChild?]
        var failures: [Int]
        var backlog: [PendingCall] = []
        var stopped = false
        var all: [PersistentChild] = []
    }
    private let state: Mutex<State>

    /// Starts `processes` copies of `command`.
    public init(
        command: String, processes: Int, queue: QueueName, maxResultBytes: Int = 64 * 1024,
        killGracePeriod: Duration = .seconds(5), cancelLines: Bool = false,
        environment: ChildEnvironment = ChildEnvironment(), logger: Logger
    ) {
        self.environment = environment
        self.cancelLines = cancelLines
        self.command = command
        self.processes = max(1, processes)
        self.maxResultBytes = maxResultBytes
        self.killGracePeriod = killGracePeriod
        self.queue = queue
        self.logger = logger
        self.loop = PersistentIOLoop(maxLineBytes: maxResultBytes + 64 * 1024)
        self.state = Mutex(
            State(
                slots: Array(repeating: nil, count: max(1, processes)),
                failures: Array(repeating: 0, count: max(1, processes))))
        loop.start(events: self)
        for slot in 0..<self.processes { start(slot: slot) }
    }

    public func handle(_ task: TaskContext) async throws -> TaskResult {
        let call = PendingCall(id: task.id.rawValue, line: PersistentProtocol.line(for: task))
        let outcome = await withTaskCancellationHandler {
            dispatch(call)
            return await call.wait()
        } onCancel: {
            self.cancelled(call)
        }
        try Task.checkCancellation()
        return try outcome.get()
    }

    /// Lets running processes finish: their input is closed (a process should exit at end of input), and those
    /// still running after the kill grace period are killed. Call once the worker has stopped.
    public func shutdown() async {
        let children = state.withLock { state -> [PersistentChild] in
            state.stopped = true
            for call in state.backlog {
                call.resolve(.failure(TaskFailure(.failed, "the worker stopped before a process took this task")))
            }
            state.backlog.removeAll()
            return state.all
        }
        for child in children {
            child.state.withLock {
                $0.retiring = true
                $0.closeInputRequested = true
            }
        }
        loop.poke()
        let deadline = ContinuousClock.now + killGracePeriod
        while ContinuousClock.now < deadline, state.withLock({ !$0.all.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for child in state.withLock({ $0.all }) { child.terminate(grace: .seconds(1)) }
        while state.withLock({ !$0.all.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        loop.stop()
    }

    // MARK: - Handing out tasks

    private func dispatch(_ call: PendingCall) {
        while true {
            let child = state.withLock { state -> PersistentChild?? in
                if state.stopped { return .some(nil) }
                // The least busy process that takes tasks (no array is built: this runs for every task).
                var least: PersistentChild?
                var leastLoad = Int.max
                for case let candidate? in state.slots {
                    let (accepting, load) = candidate.state.withLock { child in
                        (
                            !child.retiring && !child.ended && !child.inputClosed && child.cancelling.isEmpty,
                            child.inFlight.count
                        )
                    }
                    if accepting && load < leastLoad {
                        least = candidate
                        leastLoad = load
                    }
                }
                guard let least else {
                    state.backlog.append(call)
                    return .none
                }
                return .some(least)
            }
            switch child {
            case .none:
                return
            case .some(nil):
                call.resolve(.failure(TaskFailure(.failed, "the worker is stopping")))
                return
            case .some(let child?):
                guard call.assign(to: child) else { return }
                switch child.submit(call) {
                case .queuedFirst:
                    loop.poke()
                    return
                case .queued:
                    return
                case .refused:
                    continue
                }
            }
        }
    }

    private func cancelled(_ call: PendingCall) {
        state.withLock { $0.backlog.removeAll { $0 === call } }
        let child = call.cancel()
        call.resolve(.failure(TaskFailure(.timedOut, "stopped")))
        guard let child else { return }
        child.state.withLock { $0.inFlight.removeAll { $0 === call } }
        let reason = "task \(call.id) was stopped (cancel, time-out, lost lease or shutdown)"
        guard cancelLines, !state.withLock({ $0.stopped }) else {
            replace(child, reason: reason, terminate: true)
            return
        }
        switch child.sendCancel(call.id) {
        case .refused:
            replace(child, reason: reason, terminate: true)
            return
        case .queuedFirst:
            loop.poke()
        case .queued:
            break
        }
        let grace = killGracePeriod
        let (seconds, attoseconds) = grace.components
        let delay = DispatchTimeInterval.nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
            guard child.state.withLock({ $0.cancelling.contains(call.id) }) else { return }
            self.logger.warning(
                "persistent process did not answer a cancelled task; replacing it",
                metadata: ["pid": "\(child.pid)", "id": "\(call.id)"])
            self.replace(
                child, reason: "it did not answer task \(call.id) within \(grace) of its cancel", terminate: true)
        }
    }

    /// Hands the tasks waiting for a process to the processes that take tasks now.
    private func drainBacklog() {
        let waiting = state.withLock { state -> [PendingCall] in
            defer { state.backlog.removeAll() }
            return state.backlog
        }
        waiting.forEach(dispatch)
    }

    // MARK: - Process lifecycle

    private func start(slot: Int) {
        do throws(PersistentProcessError) {
            let child = try PersistentChild.spawn(
                command: command, slot: slot, environment: environment,
                extraEnvironment: ["TASKGATE_QUEUE": queue.rawValue, "TASKGATE_PROCESS": String(slot)])
            let stopped = state.withLock { state -> Bool in
                guard !state.stopped else { return true }
                state.slots[slot] = child
                state.all.append(child)
                return false
            }
            if stopped {
                child.terminate(grace: .zero)
                _ = child.reap()
                for fd in [child.input, child.output, child.errors] { close(fd) }
                return
            }
            loop.add(child)
            logger.debug("persistent process started", metadata: ["pid": "\(child.pid)", "slot": "\(slot)"])
            drainBacklog()
        } catch {
            logger.error("cannot start persistent process", metadata: ["error": "\(error)"])
            restart(slot: slot, healthy: false)
        }
    }

    /// Starts a new process in `slot`: at once after a healthy one, else after a growing backoff.
    private func restart(slot: Int, healthy: Bool) {
        let delay = state.withLock { state -> Int? in
            guard !state.stopped else { return nil }
            state.failures[slot] = healthy ? 0 : state.failures[slot] + 1
            let failures = state.failures[slot]
            return failures == 0 ? 0 : min(100 << min(failures - 1, 10), 10_000)
        }
        guard let delay else { return }
        if delay > 0 {
            logger.warning("restarting persistent process", metadata: ["slot": "\(slot)", "in_ms": "\(delay)"])
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { self.start(slot: slot) }
    }

    /// Takes `child` out of its slot (a new process takes the slot) and retires it: it gets no new task; it is
    /// killed when `terminate`, else its input is closed once it has answered what it holds.
    private func replace(_ child: PersistentChild, reason: String, terminate: Bool) {
        let current = state.withLock { state -> Bool in
            guard state.slots[child.slot] === child else { return false }
            state.slots[child.slot] = nil
            return true
        }
        let healthy = child.state.withLock { state -> Bool in
            state.retiring = true
            if state.stopReason == nil { state.stopReason = reason }
            if state.inFlight.isEmpty { state.closeInputRequested = true }
            return state.healthy
        }
        if terminate { child.terminate(grace: killGracePeriod) }
        loop.poke()
        if current { restart(slot: child.slot, healthy: healthy) }
    }

    // MARK: - Events from the I/O loop

    func answered(_ child: PersistentChild, line: [UInt8]) {
        let answer = PersistentProtocol.answer(line)
        // The answer to a task it was told to stop: its attempt is over already; the process takes tasks again.
        let (wasCancelled, free) = child.state.withLock { state -> (Bool, Bool) in
            guard let id = answer.id, let index = state.cancelling.firstIndex(of: id) else { return (false, false) }
            state.cancelling.remove(at: index)
            if state.retiring && state.inFlight.isEmpty { state.closeInputRequested = true }
            return (true, state.cancelling.isEmpty)
        }
        if wasCancelled {
            logger.debug("persistent process answered a cancelled task", metadata: ["pid": "\(child.pid)"])
            if free { drainBacklog() }
            return
        }
        let call = child.state.withLock { state -> PendingCall? in
            let index =
                answer.id.flatMap { id in state.inFlight.firstIndex { $0.id == id } } ?? state.inFlight.indices.first
            guard let index else { return nil }
            let call = state.inFlight.remove(at: index)
            if case .success = answer.outcome { state.healthy = true }
            if state.retiring && state.inFlight.isEmpty { state.closeInputRequested = true }
            return call
        }
        guard let call else {
            logger.warning(
                "persistent process answered with no task in flight",
                metadata: ["pid": "\(child.pid)", "line": "\(String(decoding: line.prefix(200), as: UTF8.self))"])
            return
        }
        var outcome = answer.outcome
        if case .success(let result) = outcome, result.json.utf8.count > maxResultBytes {
            // A value cut short is no JSON: like --exec output past the limit, its first bytes are kept as a string.
            outcome = .success(.string(String(decoding: Array(result.json.utf8.prefix(maxResultBytes)), as: UTF8.self)))
        }
        if case .failure(let failure) = outcome, failure.code == .protocolError {
            logger.warning(
                "persistent process wrote a malformed answer; replacing it", metadata: ["pid": "\(child.pid)"])
            replace(child, reason: "it wrote a malformed answer", terminate: false)
        }
        call.resolve(outcome)
    }

    func overlongAnswer(_ child: PersistentChild, head: [UInt8]) {
        // The task its start names, else the oldest in flight, as for any answer without a known id.
        let id = PersistentProtocol.leadingID(head)
        let call = child.state.withLock { state -> PendingCall? in
            guard
                let index = id.flatMap({ id in state.inFlight.firstIndex { $0.id == id } })
                    ?? state.inFlight.indices.first
            else { return nil }
            return state.inFlight.remove(at: index)
        }
        let limit = maxResultBytes + 64 * 1024
        replace(child, reason: "it wrote an answer over \(limit) bytes", terminate: false)
        call?.resolve(
            .failure(TaskFailure(.protocolError, "the persistent process wrote an answer over \(limit) bytes")))
    }

    func logged(_ child: PersistentChild, line: String) {
        logger.info("persistent process stderr", metadata: ["pid": "\(child.pid)", "line": "\(line)"])
    }

    func ended(_ child: PersistentChild) {
        // Marked ended before it is reaped, so that no delayed SIGKILL can reach a group id reused after that.
        let (calls, reason, tail) = child.state.withLock { state -> ([PendingCall], String?, [String]) in
            state.ended = true
            if !state.inputClosed {
                close(child.input)
                state.inputClosed = true
            }
            defer { state.inFlight.removeAll() }
            return (state.inFlight, state.stopReason, state.errorTail)
        }
        let how = child.reap()
        close(child.output)
        // Its standard error may stay open in a grandchild; stop reading it.
        child.state.withLock { state in
            if !state.errorsClosed {
                close(child.errors)
                state.errorsClosed = true
            }
        }
        state.withLock { $0.all.removeAll { $0 === child } }
        var message = "the persistent process (pid \(child.pid)) \(how) while running this task"
        if let reason { message += ", stopped because \(reason)" }
        if !tail.isEmpty { message += "; its stderr ended: " + tail.joined(separator: " | ") }
        for call in calls { call.resolve(.failure(TaskFailure(.protocolError, message))) }
        if reason == nil {
            let stopping = state.withLock { $0.stopped }
            logger.log(
                level: stopping ? .debug : .warning, "persistent process ended",
                metadata: ["pid": "\(child.pid)", "how": "\(how)"])
        }
        replace(child, reason: how, terminate: false)
    }
}

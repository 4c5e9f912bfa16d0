import Dispatch
import FoundationEssentials
import Glibc
import Synchronization
import TaskgateCore

/// One running persistent process: `/bin/sh -c CMD` in a process group of its own, with pipes on its standard
/// input, output and error, and the tasks it was sent and has not answered yet.
///
/// Only the I/O loop reads and writes the pipes; any thread may hand it a call (``submit(_:)``).
final class PersistentChild: Sendable {
    /// The pool slot this process fills.
    let slot: Int
    /// Its process id, also its process group id.
    let pid: pid_t
    /// Our ends of its pipes (non-blocking).
    let input: Int32
    let output: Int32
    let errors: Int32

    struct State {
        /// Task lines not yet written to its standard input.
        var pendingInput: [UInt8] = []
        /// Tasks sent and not yet answered, oldest first.
        var inFlight: [PendingCall] = []
        /// The incomplete last line read from standard output and standard error.
        var partialOutput: [UInt8] = []
        var partialErrors: [UInt8] = []
        /// The last lines of standard error, for failure messages.
        var errorTail: [String] = []
        /// Takes no new task (it wrote a malformed answer, or is being stopped); its input closes once idle.
        var retiring = false
        var inputClosed = false
        var errorsClosed = false
        /// Its output reached end of file: it is gone (or going), and everything in flight has failed.
        var ended = false
        /// It answered a task well at least once (its slot's restart backoff starts over).
        var healthy = false
        /// Why it was stopped, when Taskgate stopped it; part of the message of the tasks it takes down.
        var stopReason: String?
        /// Its input is to be closed by the I/O loop (it is retiring and idle, or the pool shuts down).
        var closeInputRequested = false
        /// Bytes of an over-long answer line being skipped up to its newline.
        var skippingLine = false
        /// Tasks told to stop with a cancel line and not answered yet: it takes no new task meanwhile.
        var cancelling: [String] = []
    }
    let state = Mutex(State())

    private init(slot: Int, pid: pid_t, input: Int32, output: Int32, errors: Int32) {
        self.slot = slot
        self.pid = pid
        self.input = input
        self.output = output
        self.errors = errors
    }

    /// Starts `command` through `/bin/sh -c` with `environment` plus `extraEnvironment`.
    static func spawn(
        command: String, slot: Int, environment base: ChildEnvironment, extraEnvironment: [String: String]
    ) throws(PersistentProcessError) -> PersistentChild {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard makePipe(&stdinPipe) == 0 else { throw .init(.spawnFailed, "pipe failed: errno \(errno)") }
        guard makePipe(&stdoutPipe) == 0 else {
            closeAll(stdinPipe)
            throw .init(.spawnFailed, "pipe failed: errno \(errno)")
        }
        guard makePipe(&stderrPipe) == 0 else {
            closeAll(stdinPipe + stdoutPipe)
            throw .init(.spawnFailed, "pipe failed: errno \(errno)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own, so the whole tree can be signalled and a terminal's Ctrl-C does not reach it.
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let environment = base.with(extraEnvironment)
        let arguments = ["/bin/sh", "-c", command]
        let environmentLines = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStrings(arguments) { argv in
            withCStrings(environmentLines) { envp in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
            }
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            closeAll([stdinPipe[1], stdoutPipe[0], stderrPipe[0]])
            throw .init(.spawnFailed, "cannot start /bin/sh: \(String(cString: strerror(spawned)))")
        }
        for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return PersistentChild(
            slot: slot, pid: pid, input: stdinPipe[1], output: stdoutPipe[0], errors: stderrPipe[0])
    }

    /// What became of a call handed to the process.
    enum Submission {
        /// It takes no more tasks.
        case refused
        /// Queued behind other input: the I/O loop writes it with them, unprompted.
        case queued
        /// Queued with no input before it: the I/O loop must be woken to write it.
        case queuedFirst
    }

    /// Queues a call's line for the process.
    func submit(_ call: PendingCall) -> Submission {
        state.withLock { state in
            guard !state.retiring, !state.ended, !state.inputClosed else { return .refused }
            let first = state.pendingInput.isEmpty
            state.inFlight.append(call)
            state.pendingInput.append(contentsOf: call.line)
            return first ? .queuedFirst : .queued
        }
    }

    /// Queues a cancel line for task `id` (`{"cancel":"<id>"}`): the process is to stop that task and answer it.
    func sendCancel(_ id: String) -> Submission {
        state.withLock { state in
            guard !state.retiring, !state.ended, !state.inputClosed else { return .refused }
            let first = state.pendingInput.isEmpty
            state.cancelling.append(id)
            state.pendingInput.append(contentsOf: PersistentProtocol.cancelLine(id))
            return first ? .queuedFirst : .queued
        }
    }

    /// Tasks in flight (for choosing the least busy process).
    var load: Int { state.withLock { $0.inFlight.count } }

    /// `true` while it takes new tasks.
    var isAccepting: Bool { state.withLock { !$0.retiring && !$0.ended && !$0.inputClosed } }

    /// Sends SIGTERM to the process group, then SIGKILL after `grace` unless it ended by then.
    func terminate(grace: Duration) {
        guard !state.withLock({ $0.ended }) else { return }
        _ = kill(-pid, SIGTERM)
        let deadline = DispatchTime.now() + .milliseconds(Int(grace.milliseconds))
        DispatchQueue.global().asyncAfter(deadline: deadline) { [self] in
            // Once reaped, the group id may belong to another process by now: signal only a group still ours.
            state.withLock { state in
                if !state.ended { _ = kill(-pid, SIGKILL) }
            }
        }
    }

    /// Waits for the process (after its output ended) and describes how it ended.
    func reap() -> String {
        // Its output is closed: it exited, or closed its output and is about to be killed.
        _ = kill(-pid, SIGKILL)
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
        guard result == pid else { return "ended" }
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "was killed by signal \(signal)"
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }
}

/// `pipe(2)` with both ends close-on-exec (Glibc's `pipe2` is not visible to Swift); 0 on success.
func makePipe(_ fds: inout [Int32]) -> Int32 {
    guard pipe(&fds) == 0 else { return -1 }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return 0
}

/// Lends C strings of `strings`, NULL-terminated, for the duration of `body`.
private func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

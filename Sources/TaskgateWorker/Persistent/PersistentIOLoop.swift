import Dispatch
import Glibc
import Synchronization

/// What the I/O loop reports about a persistent process.
protocol PersistentIOEvents: Sendable {
    /// A complete line arrived on the process's standard output (newline removed).
    func answered(_ child: PersistentChild, line: [UInt8])
    /// An answer line grew past the limit (`head` is its start): it is skipped up to its end.
    func overlongAnswer(_ child: PersistentChild, head: [UInt8])
    /// A line arrived on its standard error.
    func logged(_ child: PersistentChild, line: String)
    /// Its standard output reached end of file.
    func ended(_ child: PersistentChild)
}

/// One thread that moves the bytes of every persistent process of a pool with `poll(2)`: task lines out to
/// their standard input (as many as have gathered, in one write), answers and log lines in. No thread waits
/// per process, and a process that stops reading holds up nobody but itself. Only this thread reads, writes
/// or closes the pipes, and each is closed once, with its flag set under the process's lock.
final class PersistentIOLoop: Sendable {
    private let children = Mutex<[PersistentChild]>([])
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    /// A wake-up byte is on its way (or in the pipe): further pokes need not write another.
    private let wakePending = Atomic<Bool>(false)
    private let maxLineBytes: Int
    private let events: Mutex<(any PersistentIOEvents)?> = Mutex(nil)

    init(maxLineBytes: Int) {
        var fds: [Int32] = [-1, -1]
        _ = makePipe(&fds)
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.maxLineBytes = maxLineBytes
    }

    /// Starts the loop's thread; `events` is held weakly enough: the pool owns the loop and stops it.
    func start(events: any PersistentIOEvents) {
        self.events.withLock { $0 = events }
        let thread = DispatchQueue(label: "taskgate.worker.persistent-io")
        thread.async { self.run() }
    }

    /// Stops the thread after its current round; the pool calls it once every process has ended.
    func stop() {
        stopped.store(true, ordering: .releasing)
        poke()
        events.withLock { $0 = nil }
    }

    /// Watches a new process.
    func add(_ child: PersistentChild) {
        children.withLock { $0.append(child) }
        poke()
    }

    /// Wakes the loop: there is input to write, or a process to watch or to close. Pokes between two rounds of
    /// the loop cost one write together: the next round looks at every process anyway.
    func poke() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private enum Stream { case output, errors, input }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopped.load(ordering: .acquiring) {
            let current = children.withLock { $0 }
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            var owners: [(PersistentChild, Stream)] = []
            for child in current {
                let (wantsWrite, errorsOpen, ended) = prepare(child)
                if ended { continue }
                fds.append(pollfd(fd: child.output, events: Int16(POLLIN), revents: 0))
                owners.append((child, .output))
                if errorsOpen {
                    fds.append(pollfd(fd: child.errors, events: Int16(POLLIN), revents: 0))
                    owners.append((child, .errors))
                }
                if wantsWrite {
                    fds.append(pollfd(fd: child.input, events: Int16(POLLOUT), revents: 0))
                    owners.append((child, .input))
                }
            }
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 { continue }
            if fds[0].revents != 0 {
                while read(wakeRead, &buffer, buffer.count) > 0 {}
                // Cleared before the next round prepares, which sees whatever the pokes since were about.
                wakePending.store(false, ordering: .releasing)
            }
            for (index, (child, stream)) in owners.enumerated() where fds[index + 1].revents != 0 {
                // An earlier entry of this round may have closed this stream (a process that ended closes all
                // three); its descriptor number may already belong to a new process's pipe, so never touch it.
                let open = child.state.withLock { state -> Bool in
                    switch stream {
                    case .output: return !state.ended
                    case .errors: return !state.ended && !state.errorsClosed
                    case .input: return !state.ended && !state.inputClosed
                    }
                }
                guard open else { continue }
                switch stream {
                case .output: readOutput(child, &buffer)
                case .errors: readErrors(child, &buffer)
                case .input: writeInput(child)
                }
            }
            children.withLock { list in list.removeAll { $0.state.withLock { $0.ended } } }
        }
        finished.store(true, ordering: .releasing)
    }

    /// Closes the input when asked to and says what to watch: (has input to write, stderr open, ended).
    private func prepare(_ child: PersistentChild) -> (Bool, Bool, Bool) {
        child.state.withLock { state in
            if state.closeInputRequested && !state.inputClosed && state.pendingInput.isEmpty {
                close(child.input)
                state.inputClosed = true
            }
            return (!state.pendingInput.isEmpty && !state.inputClosed, !state.errorsClosed, state.ended)
        }
    }

    private func readOutput(_ child: PersistentChild, _ buffer: inout [UInt8]) {
        let count = read(child.output, &buffer, buffer.count)
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard count > 0 else {
            // What it wrote to standard error before it went belongs to the failures it causes: read it first.
            while child.state.withLock({ !$0.errorsClosed }), readErrors(child, &buffer) {}
            events.withLock { $0 }?.ended(child)
            return
        }
        var lines: [[UInt8]] = []
        // The first bytes of each answer line over the limit, complete or not (they may name its task).
        var overlong: [[UInt8]] = []
        child.state.withLock { state in
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                if state.skippingLine {
                    state.skippingLine = false  // reported when it outgrew the limit
                } else if state.partialOutput.count + (index - start) > maxLineBytes {
                    overlong.append(Array((state.partialOutput + buffer[start..<index].prefix(512)).prefix(512)))
                } else {
                    state.partialOutput.append(contentsOf: buffer[start..<index])
                    lines.append(state.partialOutput)
                }
                state.partialOutput.removeAll(keepingCapacity: true)
                start = index + 1
            }
            if !state.skippingLine { state.partialOutput.append(contentsOf: buffer[start..<count]) }
            if state.partialOutput.count > maxLineBytes {
                overlong.append(Array(state.partialOutput.prefix(512)))
                state.partialOutput.removeAll()
                state.skippingLine = true
            }
        }
        guard let events = events.withLock({ $0 }) else { return }
        for line in lines { events.answered(child, line: line) }
        for head in overlong { events.overlongAnswer(child, head: head) }
    }

    /// Reads what standard error holds; `false` when nothing was there (or it reached its end).
    @discardableResult
    private func readErrors(_ child: PersistentChild, _ buffer: inout [UInt8]) -> Bool {
        let count = read(child.errors, &buffer, buffer.count)
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return false }
        var lines: [String] = []
        child.state.withLock { state in
            guard count > 0 else {
                close(child.errors)
                state.errorsClosed = true
                if !state.partialErrors.isEmpty { lines.append(String(decoding: state.partialErrors, as: UTF8.self)) }
                return
            }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                state.partialErrors.append(contentsOf: buffer[start..<index])
                lines.append(String(decoding: state.partialErrors.prefix(4096), as: UTF8.self))
                state.partialErrors.removeAll(keepingCapacity: true)
                start = index + 1
            }
            state.partialErrors.append(contentsOf: buffer[start..<count].prefix(8192 - state.partialErrors.count))
            for line in lines {
                state.errorTail.append(String(line.prefix(300)))
                if state.errorTail.count > 5 { state.errorTail.removeFirst() }
            }
        }
        if let events = events.withLock({ $0 }) {
            for line in lines { events.logged(child, line: line) }
        }
        return count > 0
    }

    private func writeInput(_ child: PersistentChild) {
        child.state.withLock { state in
            guard !state.inputClosed, !state.pendingInput.isEmpty else { return }
            let written = state.pendingInput.withUnsafeBytes { bytes in
                write(child.input, bytes.baseAddress, bytes.count)
            }
            if written > 0 {
                state.pendingInput.removeFirst(written)
            } else if written < 0 && errno != EAGAIN && errno != EINTR {
                // EPIPE: it closed its input or died; its output's end of file reports that.
                state.pendingInput.removeAll()
                close(child.input)
                state.inputClosed = true
            }
        }
    }
}

import CMicroHTTPD
import Synchronization

/// A response body written over time (Server-Sent Events): the writer appends, libmicrohttpd sends.
///
/// Writes go to a bounded buffer; one that would overflow it (a client that does not read) fails the stream
/// and the connection is closed, so a slow client costs at most ``limit`` bytes. While the buffer is empty the
/// connection is suspended: no thread waits for it. Every byte buffered is reserved in the server's
/// ``MemoryBudget``, with ``fixedCost`` for the stream itself.
public final class HTTPStream: Sendable {
    /// What an open stream is charged in the budget when it opens; it covers its first ``includedBytes`` held.
    public static let fixedCost = 4 * 1024
    /// Bytes a stream may hold at once within its ``fixedCost``, so that a stream admitted at all can always send
    /// its opening line and a task's snapshot, rather than be admitted and fail on its first write.
    public static let includedBytes = 1024

    private struct State {
        var buffer: [UInt8] = []
        var offset = 0
        var finished = false
        var failed = false
        var suspended = false
        var released = false
        var connection: ConnectionPointer?
        var onClose: (@Sendable () -> Void)?
    }

    /// The most bytes buffered for the client.
    public let limit: Int
    private let budget: MemoryBudget?
    private let state = Mutex(State())

    /// Creates a stream; `nil` when the budget cannot hold ``fixedCost`` more.
    public init?(limit: Int = 64 * 1024, budget: MemoryBudget?) {
        if let budget, !budget.reserve(Self.fixedCost) { return nil }
        self.limit = limit
        self.budget = budget
    }

    /// Called once the stream ends for any reason (finished, failed, client gone), from a server thread.
    public func onClose(_ body: @escaping @Sendable () -> Void) {
        let closedAlready = state.withLock { state -> Bool in
            if state.released { return true }
            state.onClose = body
            return false
        }
        if closedAlready { body() }
    }

    /// Appends `bytes`; `false` when the stream is over, or has just failed because the client is too slow.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        let (accepted, resume) = state.withLock { state -> (Bool, ConnectionPointer?) in
            guard !state.finished, !state.failed, !state.released else { return (false, nil) }
            let held = state.buffer.count - state.offset
            let charge = Self.charge(held + bytes.count) - Self.charge(held)
            if held + bytes.count > limit || !(budget?.reserve(charge) ?? true) {
                state.failed = true
                return (false, Self.takeResume(&state))
            }
            if state.offset > 0 && state.offset == state.buffer.count {
                state.buffer.removeAll(keepingCapacity: true)
                state.offset = 0
            }
            state.buffer.append(contentsOf: bytes)
            return (true, Self.takeResume(&state))
        }
        resume.map { MHD_resume_connection($0.pointer) }
        return accepted
    }

    /// Ends the stream once what is buffered has been sent.
    public func finish() {
        let resume = state.withLock { state -> ConnectionPointer? in
            state.finished = true
            return Self.takeResume(&state)
        }
        resume.map { MHD_resume_connection($0.pointer) }
    }

    /// Gives the stream up before it was ever sent (the request was answered otherwise): its budget is returned.
    public func discard() {
        let attached = state.withLock { $0.connection != nil || $0.released }
        if !attached { released() }
    }

    /// `true` once the stream is over (finished, failed, or the client is gone).
    public var isOver: Bool { state.withLock { $0.finished || $0.failed || $0.released } }

    /// The budget charged for holding `held` bytes, beyond the fixed cost.
    private static func charge(_ held: Int) -> Int { max(0, held - includedBytes) }

    private static func takeResume(_ state: inout State) -> ConnectionPointer? {
        guard state.suspended else { return nil }
        state.suspended = false
        return state.connection
    }

    // MARK: - libmicrohttpd's side

    func attach(_ connection: OpaquePointer) {
        state.withLock { $0.connection = ConnectionPointer(pointer: connection) }
    }

    /// Copies up to `capacity` bytes into `destination`; -1 at the end, -2 to abort, 0 after suspending.
    func read(into destination: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let (result, freed) = state.withLock { state -> (Int, Int) in
            if state.failed { return (-2, 0) }
            let available = state.buffer.count - state.offset
            if available == 0 {
                if state.finished { return (-1, 0) }
                if let connection = state.connection {
                    state.suspended = true
                    // Under the lock, so that write() cannot resume before the suspension happened.
                    MHD_suspend_connection(connection.pointer)
                }
                return (0, 0)
            }
            let count = min(available, capacity)
            state.buffer.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(destination).copyMemory(
                    from: source.baseAddress! + state.offset, byteCount: count)
            }
            state.offset += count
            return (count, Self.charge(available) - Self.charge(available - count))
        }
        budget?.release(freed)
        return result
    }

    /// The response is gone (sent, failed, or the client left).
    func released() {
        let (onClose, held) = state.withLock { state -> ((@Sendable () -> Void)?, Int) in
            state.released = true
            let held = state.buffer.count - state.offset
            state.buffer = []
            state.offset = 0
            defer { state.onClose = nil }
            return (state.onClose, held)
        }
        budget?.release(Self.charge(held) + Self.fixedCost)
        onClose?()
    }
}

/// A libmicrohttpd connection pointer carried to the thread that resumes it.
private struct ConnectionPointer: @unchecked Sendable {
    // @unchecked: only passed to MHD_suspend_connection (on the server thread, in the reader) and
    // MHD_resume_connection (any thread, allowed with MHD_ALLOW_SUSPEND_RESUME); the connection outlives the
    // stream's response, which holds the stream until libmicrohttpd frees it.
    let pointer: OpaquePointer
}

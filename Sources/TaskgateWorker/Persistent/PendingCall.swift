import Synchronization
import TaskgateCore

/// One task handed to a persistent process, waiting for its answer: resolved exactly once, by the answer, the
/// process's end, or the attempt's cancellation, whichever comes first.
final class PendingCall: Sendable {
    /// The task's id, as the answer line names it.
    let id: String
    /// The line that carries the task.
    let line: [UInt8]

    private struct State {
        var continuation: CheckedContinuation<Result<TaskResult, TaskFailure>, Never>?
        var outcome: Result<TaskResult, TaskFailure>?
        var cancelled = false
        var child: PersistentChild?
    }
    private let state = Mutex(State())

    init(id: String, line: [UInt8]) {
        self.id = id
        self.line = line
    }

    /// Waits for the outcome.
    func wait() async -> Result<TaskResult, TaskFailure> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<TaskResult, TaskFailure>? in
                if let outcome = state.outcome { return outcome }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Settles the call; later calls do nothing. Returns `false` when it was settled already.
    @discardableResult
    func resolve(_ outcome: Result<TaskResult, TaskFailure>) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<Result<TaskResult, TaskFailure>, Never>?? in
            guard state.outcome == nil else { return .none }
            state.outcome = outcome
            defer { state.continuation = nil }
            return .some(state.continuation)
        }
        guard let continuation else { return false }
        continuation?.resume(returning: outcome)
        return true
    }

    /// Records the process the call went to; `false` when the call was cancelled meanwhile (do not send it).
    func assign(to child: PersistentChild) -> Bool {
        state.withLock { state in
            guard !state.cancelled, state.outcome == nil else { return false }
            state.child = child
            return true
        }
    }

    /// Marks the call cancelled and returns the process it is on, if it was sent.
    func cancel() -> PersistentChild? {
        state.withLock { state in
            state.cancelled = true
            return state.outcome == nil ? state.child : nil
        }
    }

    /// `true` once cancelled.
    var isCancelled: Bool { state.withLock { $0.cancelled } }
}

/// Where a task is in its life.
public enum TaskState: String, Sendable, CaseIterable {
    /// Waiting for its parents (`after`) to finish; then it becomes pending, or is cancelled.
    case waiting
    /// Waiting in its queue's pending list.
    case pending
    /// Waiting for its `delay_seconds` to pass.
    case scheduled
    /// A worker is running it.
    case active
    /// Failed; waiting for its backoff before the next attempt.
    case retrying
    /// Finished successfully.
    case succeeded
    /// Failed `max_retries + 1` times; kept in the dead-letter set.
    case dead
    /// Cancelled by an operator before it finished; it never runs (again).
    case cancelled

    /// `true` for the states a task never leaves (but a dead task an operator requeues).
    public var isFinal: Bool { self == .succeeded || self == .dead || self == .cancelled }
}

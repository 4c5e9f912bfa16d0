/// What became of a submission.
public enum EnqueueOutcome: Sendable, Equatable {
    /// A new task was stored and queued.
    case created(TaskRecord)
    /// The idempotency key was used before with the same content: this is that task, and nothing was queued.
    case replayed(TaskRecord)
    /// The idempotency key was used before with different content (task `existing`); nothing was queued.
    case keyReused(existing: TaskID)
    /// The idempotency key was used before with the same content, but that task's record has expired since.
    case replayedExpired(TaskID)
}

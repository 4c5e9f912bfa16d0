/// The storage seam: every state change of a task, each one atomic.
///
/// Methods block the calling thread until Redis answers; call them from threads that may block.
public protocol TaskStore: Sendable {
    /// Stores the task record and puts the id on its pending list (or scheduled set when delayed), in one step.
    func enqueue(_ submission: TaskSubmission) throws(TaskStoreError) -> TaskRecord

    /// The task's record; `nil` when unknown or expired.
    func task(_ id: TaskID) throws(TaskStoreError) -> TaskRecord?

    /// Checks that the store answers.
    func ping() throws(TaskStoreError)

    /// Waits up to `blockMilliseconds` for a pending task, moves it to the active list and marks it active.
    func claim(from queue: QueueName, blockMilliseconds: Int) throws(TaskStoreError) -> TaskRecord?

    /// Marks an active task succeeded, keeps `result`, and lets the record expire after the retention time.
    /// Returns `false` when the task was not active (nothing is changed then).
    func complete(_ id: TaskID, result: String, retentionMilliseconds: Int) throws(TaskStoreError) -> Bool

    /// Records a failed attempt: schedules a retry after `backoffMilliseconds` while retries remain, else dead-letters it.
    func fail(
        _ id: TaskID, error: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) throws(TaskStoreError) -> FailureOutcome

    /// Puts an active task back at the head of its pending list, unchanged (used when a worker stops).
    func requeue(_ id: TaskID) throws(TaskStoreError) -> Bool

    /// Moves up to `limit` due tasks from the scheduled set to the pending list.
    func promoteDue(in queue: QueueName, limit: Int) throws(TaskStoreError) -> Promotion
}

/// What became of a failed attempt.
public enum FailureOutcome: Sendable, Equatable {
    /// Scheduled again; `retries` is the new counter.
    case retrying(retries: Int, runAt: Timestamp)
    /// No retries left; the task is in the dead-letter set.
    case dead(retries: Int)
    /// The task was not active, so nothing changed.
    case notActive
}

/// The outcome of one ``TaskStore/promoteDue(in:limit:)`` pass.
public struct Promotion: Sendable, Equatable {
    /// Tasks moved to pending.
    public var promoted: Int
    /// Milliseconds until the next scheduled task is due, if any is left.
    public var nextDueInMilliseconds: Int?

    /// Creates a promotion result.
    public init(promoted: Int, nextDueInMilliseconds: Int?) {
        self.promoted = promoted
        self.nextDueInMilliseconds = nextDueInMilliseconds
    }
}

/// The storage seam: every state change of a task, each one atomic.
///
/// Methods block the calling thread until Redis answers; call them from threads that may block.
public protocol TaskStore: Sendable {
    /// Stores the task record and puts the id on its pending list (or scheduled set when delayed), in one step.
    ///
    /// With an idempotency key, the key is recorded for `idempotencyWindowMilliseconds` in the same step, and a
    /// later submission with the same key on the same queue creates nothing.
    func enqueue(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey?, idempotencyWindowMilliseconds: Int
    ) throws(TaskStoreError) -> EnqueueOutcome

    /// The task's record; `nil` when unknown or expired.
    func task(_ id: TaskID) throws(TaskStoreError) -> TaskRecord?

    /// Checks that the store answers.
    func ping() throws(TaskStoreError)

    /// Waits up to `blockMilliseconds` for a pending task, moves it to the active list and marks it active under
    /// a fresh lease that lasts `leaseMilliseconds` unless extended.
    func claim(
        from queue: QueueName, blockMilliseconds: Int, leaseMilliseconds: Int
    ) throws(TaskStoreError) -> ClaimedTask?

    /// Claims up to `max` pending tasks at once without waiting, each atomically moved, marked active and leased;
    /// returns fewer (or none) when the queue runs dry.
    func claimBatch(from queue: QueueName, max: Int, leaseMilliseconds: Int) throws(TaskStoreError) -> [ClaimedTask]

    /// Pushes back the deadline of each lease still held to `leaseMilliseconds` from now; returns the leases lost
    /// (their task was recovered and may be running elsewhere).
    func extend(_ leases: [Lease], leaseMilliseconds: Int) throws(TaskStoreError) -> [Lease]

    /// Marks a held task succeeded, keeps `result`, and lets the record expire after the retention time.
    /// Throws ``TaskStoreError/Code/leaseLost`` (changing nothing) when the lease is no longer held.
    func complete(_ lease: Lease, result: TaskResult, retentionMilliseconds: Int) throws(TaskStoreError)

    /// Records a failed attempt: schedules a retry after `backoffMilliseconds` while retries remain, else
    /// dead-letters it. Throws ``TaskStoreError/Code/leaseLost`` (changing nothing) when the lease is no longer held.
    func fail(
        _ lease: Lease, error: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) throws(TaskStoreError) -> FailureOutcome

    /// ``complete(_:result:retentionMilliseconds:)`` without holding the caller's thread while Redis answers.
    func recordSuccess(_ lease: Lease, result: TaskResult, retentionMilliseconds: Int) async throws(TaskStoreError)

    /// Sends ``complete(_:result:retentionMilliseconds:)`` without waiting for Redis' answer, so the caller can
    /// go on to its next task while the completion shares a round trip with other calls. `ifFailed` is called,
    /// from another thread, when it did not land (the task then stays active under its lease until the caller
    /// records it again or recovery puts it back).
    func completeEventually(
        _ lease: Lease, result: TaskResult, retentionMilliseconds: Int,
        ifFailed: @escaping @Sendable (TaskStoreError) -> Void)

    /// ``fail(_:error:backoffMilliseconds:retentionMilliseconds:)`` without holding the caller's thread.
    func recordFailure(
        _ lease: Lease, error: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) async throws(TaskStoreError) -> FailureOutcome

    /// Puts a held task back at the head of its pending list, retries unchanged (used when a worker stops).
    /// Throws ``TaskStoreError/Code/leaseLost`` (changing nothing) when the lease is no longer held.
    func requeue(_ lease: Lease) throws(TaskStoreError)

    /// Finds up to `limit` expired leases and active-list ids without a lease on `queue` and recovers them:
    /// an expired attempt counts as failed; an id unleased for `unleasedGraceMilliseconds` goes back to pending.
    func recover(
        in queue: QueueName, limit: Int, unleasedGraceMilliseconds: Int, retentionMilliseconds: Int
    ) throws(TaskStoreError) -> Recovery

    /// Moves up to `limit` due tasks from the scheduled set to the pending list.
    func promoteDue(in queue: QueueName, limit: Int) throws(TaskStoreError) -> Promotion
}

/// What became of a failed attempt.
public enum FailureOutcome: Sendable, Equatable {
    /// Scheduled again; `retries` is the new counter.
    case retrying(retries: Int, runAt: Timestamp)
    /// No retries left; the task is in the dead-letter set.
    case dead(retries: Int)
}

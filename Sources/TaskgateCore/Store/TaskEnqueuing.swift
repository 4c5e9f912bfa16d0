/// Enqueues without holding the caller's thread: the answer arrives later, through a callback.
public protocol TaskEnqueuing: Sendable {
    /// Stores and queues a task like ``TaskStore/enqueue(_:idempotencyKey:idempotencyWindowMilliseconds:)``,
    /// then calls `completion` from another thread with a closure that yields the outcome. Call that closure
    /// where the time is best spent (it decodes the reply, and reads the earlier record on a replay).
    func enqueue(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey?, idempotencyWindowMilliseconds: Int,
        completion:
            @escaping @Sendable (_ outcome: @escaping @Sendable () -> Result<EnqueueOutcome, TaskStoreError>)
            -> Void)
}

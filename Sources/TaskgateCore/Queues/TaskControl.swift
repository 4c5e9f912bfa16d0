import TaskgateRedis

/// The operator's changes to single tasks and to a queue's dead tasks: requeue, cancel, delete. One script each
/// (``TaskScripts/requeueDead``, ``TaskScripts/remove``), for the HTTP API and the CLI alike; each publishes its
/// event in the same step.
public struct TaskControl: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// How long a cancelled task's record is kept.
    public let retentionMilliseconds: Int
    /// How long a deleted task's tombstone waits for its children and batch to be told.
    public let workflowRetentionMilliseconds: Int

    /// Creates the task side of the control seam.
    public init(
        pool: RedisConnectionPool, keys: KeySpace, retentionMilliseconds: Int = 86_400_000,
        workflowRetentionMilliseconds: Int = WorkflowLimits.defaultRetentionMilliseconds
    ) {
        self.pool = pool
        self.keys = keys
        self.retentionMilliseconds = retentionMilliseconds
        self.workflowRetentionMilliseconds = workflowRetentionMilliseconds
    }

    /// What became of an operation on one task.
    public enum Outcome: Sendable, Equatable {
        /// Done; the state the task was in before.
        case done(was: TaskState?)
        /// The task's state does not allow it (nothing was changed).
        case refused(state: TaskState?)
        /// No such task (unknown, or its record expired).
        case unknown
    }

    /// Puts a dead task back to pending with `retries` reset (`last_error` kept); it runs next.
    public func requeue(_ id: TaskID) throws(TaskStoreError) -> Outcome {
        let reply = try requeueStep(queue: id.queue, ids: [id.rawValue], count: 0)
        let outcome = reply.count > 2 ? reply[2].string ?? "" : ""
        switch outcome {
        case "requeued":
            tellWorkflows(id.queue)
            return .done(was: .dead)
        case "": return .unknown
        default: return .refused(state: TaskState(rawValue: outcome))
        }
    }

    /// Requeues every dead task of `queue`, `step` at a time (each step one script call, so Redis never runs
    /// one long script), at most `limit` in all; returns how many were requeued and how many dead remain.
    public func requeueAllDead(
        in queue: QueueName, step: Int = 100, limit: Int = 100_000
    ) throws(TaskStoreError) -> (requeued: Int, remaining: Int) {
        var requeued = 0
        var remaining = 0
        repeat {
            let reply = try requeueStep(queue: queue, ids: [], count: min(max(1, step), limit - requeued))
            let moved = reply.first?.int ?? 0
            requeued += moved
            // A step that moved nothing still took ids out of the set (ids of no dead task): the loop ends.
            remaining = reply.count > 1 ? reply[1].int ?? 0 : 0
        } while remaining > 0 && requeued < limit
        if requeued > 0 { tellWorkflows(queue) }
        return (requeued, remaining)
    }

    /// Removes a task that is not running, with its record.
    public func delete(_ id: TaskID) throws(TaskStoreError) -> Outcome {
        try remove(id, "delete")
    }

    /// Ends a task that has not finished in the final state `cancelled`; a running one is stopped by its worker.
    public func cancel(_ id: TaskID) throws(TaskStoreError) -> Outcome {
        try remove(id, "cancel")
    }

    /// Drains `queue`'s outbox after a change, so that the children and batch of a task cancelled, deleted or
    /// requeued hear of it now, whether or not a worker serves the queue. A failure leaves the entries on the
    /// outbox for the next drainer (a worker's, the pull API's, the next change's): the change itself stands.
    /// Cost: nothing but an empty `ZRANGEBYSCORE` when the task had no children and no batch.
    private func tellWorkflows(_ queue: QueueName) {
        let releaser = WorkflowReleaser(
            pool: pool, keys: keys, retentionMilliseconds: retentionMilliseconds,
            workflowRetentionMilliseconds: workflowRetentionMilliseconds)
        _ = try? releaser.pass([queue])
    }

    private func remove(_ id: TaskID, _ what: String) throws(TaskStoreError) -> Outcome {
        let queue = id.queue
        let reply = try run(
            TaskScripts.remove,
            keys: [
                keys.task(id), keys.pending(queue), keys.scheduled(queue), keys.retrying(queue), keys.dead(queue),
                keys.leases(queue), keys.active(queue), keys.callbacks(queue), keys.waiting(queue),
                keys.released(queue), keys.tombstone(id),
            ],
            arguments: [
                id.rawValue, what, max(1, retentionMilliseconds), keys.events(queue), keys.cancellations(queue),
                max(1, workflowRetentionMilliseconds),
            ])
        let values = (reply.array ?? []).map(\.string)
        switch values.first ?? nil {
        case "ok":
            tellWorkflows(queue)
            return .done(was: values.count > 1 ? values[1].flatMap(TaskState.init(rawValue:)) : nil)
        case "refused": return .refused(state: values.count > 1 ? values[1].flatMap(TaskState.init(rawValue:)) : nil)
        default: return .unknown
        }
    }

    private func requeueStep(queue: QueueName, ids: [String], count: Int) throws(TaskStoreError) -> [RedisValue] {
        var arguments: [any RedisArgument] = [keys.events(queue), keys.taskPrefix(queue), queue.rawValue + "."]
        if ids.isEmpty {
            arguments += ["*", max(1, count)] as [any RedisArgument]
        } else {
            arguments += ids as [any RedisArgument]
        }
        let reply = try run(
            TaskScripts.requeueDead, keys: [keys.dead(queue), keys.pending(queue), keys.released(queue)],
            arguments: arguments)
        guard let values = reply.array, values.count >= 2 else {
            throw TaskStoreError(.corrupt, "unexpected requeue reply \(reply)")
        }
        return values
    }

    private func run(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgument]
    ) throws(TaskStoreError) -> RedisValue {
        do {
            return try pool.withConnection { connection throws(RedisError) in
                try script.run(on: connection, keys: keys, arguments: arguments)
            }
        } catch {
            throw TaskStoreError(error)
        }
    }
}

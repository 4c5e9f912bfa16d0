import TaskgateRedis

/// The Redis side of completion callbacks: taking the deliveries that are due and recording how each try went.
///
/// A delivery is due on its queue's callbacks set (``KeySpace/callbacks(_:)``) from the moment its task became
/// final (written by the same script); a try leases it by moving its score to the end of the lease, so one
/// whose deliverer dies comes due again by itself.
public struct RedisCallbackStore: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace

    /// Creates the store.
    public init(pool: RedisConnectionPool, keys: KeySpace = .standard) {
        self.pool = pool
        self.keys = keys
    }

    /// Takes up to `max` due deliveries of `queue`, each leased for `leaseMilliseconds`.
    ///
    /// Cost: one script; O(log n) on the callbacks set plus one record read per delivery taken.
    public func claimDue(in queue: QueueName, max: Int, leaseMilliseconds: Int) throws(TaskStoreError)
        -> [CallbackTry]
    {
        let reply = try run(
            TaskScripts.claimCallbacks, keys: [keys.callbacks(queue)],
            arguments: [
                Swift.max(1, leaseMilliseconds), Swift.max(1, max), keys.taskPrefix(queue), queue.rawValue + ".",
            ])
        guard let entries = reply.array else { throw TaskStoreError(.corrupt, "unexpected claimCallbacks reply") }
        var tries: [CallbackTry] = []
        for entry in entries {
            guard let parts = entry.array, parts.count == 3, let number = parts[1].int, let fields = parts[2].array,
                let record = TaskRecord(flatFields: fields.map { $0.string ?? "" })
            else { throw TaskStoreError(.corrupt, "a callback's task hash is missing fields") }
            tries.append(CallbackTry(record: record, number: number))
        }
        return tries
    }

    /// Records how `attempt` went; `false` when the try no longer held the delivery (nothing changed).
    ///
    /// Cost: one script, O(1) plus O(log n) on the callbacks sets.
    @discardableResult
    public func finish(_ attempt: CallbackTry, _ outcome: CallbackOutcome, retentionMilliseconds: Int)
        throws(TaskStoreError) -> Bool
    {
        let queue = attempt.id.queue
        let reply = try run(
            TaskScripts.finishCallback,
            keys: [keys.task(attempt.id), keys.callbacks(queue), keys.deadCallbacks(queue), keys.released(queue)],
            arguments: [attempt.id.rawValue, attempt.number] as [any RedisArgument] + outcome.scriptArguments
                + [Swift.max(1, retentionMilliseconds), keys.events(queue)])
        return reply.int == 1
    }

    private func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument]) throws(TaskStoreError)
        -> RedisValue
    {
        do {
            return try pool.withConnection { connection throws(RedisError) in
                try script.run(on: connection, keys: keys, arguments: arguments)
            }
        } catch {
            // Both scripts are guarded (a lease, a try number), so one more go on a fresh connection is safe.
            pool.drain()
            do {
                return try pool.withConnection { connection throws(RedisError) in
                    try script.run(on: connection, keys: keys, arguments: arguments)
                }
            } catch {
                throw TaskStoreError(error)
            }
        }
    }
}

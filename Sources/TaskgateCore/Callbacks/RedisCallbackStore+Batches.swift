import TaskgateRedis

extension RedisCallbackStore {
    /// Takes up to `max` due batch webhooks, each leased for `leaseMilliseconds`: made due once, by the change
    /// that completed the batch (``BatchScripts/completeBatch``), on the batches' one slot.
    ///
    /// Cost: one script (the tasks' own claim, ``TaskScripts/claimCallbacks``); O(log n) plus one `HGETALL`
    /// per webhook taken.
    public func claimDueBatches(max: Int, leaseMilliseconds: Int) throws(TaskStoreError) -> [BatchCallbackTry] {
        let reply = try pool.run(
            TaskScripts.claimCallbacks, keys: [keys.batchCallbacks],
            arguments: [Swift.max(1, leaseMilliseconds), Swift.max(1, max), keys.batchPrefix, ""])
        guard let entries = reply.array else { throw TaskStoreError(.corrupt, "unexpected claimCallbacks reply") }
        var tries: [BatchCallbackTry] = []
        for entry in entries {
            guard let parts = entry.array, parts.count == 3, let number = parts[1].int, let fields = parts[2].array,
                let record = BatchRecord(flatFields: fields.map { $0.string ?? "" })
            else { throw TaskStoreError(.corrupt, "a batch webhook's batch hash is missing fields") }
            tries.append(BatchCallbackTry(record: record, number: number))
        }
        return tries
    }

    /// Records how `attempt` went; `false` when the try no longer held the webhook (nothing changed).
    ///
    /// Cost: one script, O(log n) on the batches' callbacks set.
    @discardableResult
    public func finish(_ attempt: BatchCallbackTry, _ outcome: CallbackOutcome) throws(TaskStoreError) -> Bool {
        let reply = try pool.run(
            BatchScripts.finishCallback, keys: [keys.batch(attempt.id), keys.batchCallbacks],
            arguments: [attempt.id, attempt.number] as [any RedisArgument] + outcome.scriptArguments)
        return reply.int == 1
    }
}

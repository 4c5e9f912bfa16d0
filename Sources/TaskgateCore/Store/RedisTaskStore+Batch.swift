import TaskgateRedis

extension RedisTaskStore {
    /// Stores many tasks at once: each queue's tasks in one enqueue script call (in their order), each task
    /// answered on its own, as ``enqueue(_:idempotencyKey:idempotencyWindowMilliseconds:)`` would answer it.
    /// A call that fails (Redis down) fails the tasks of its queue only.
    public func enqueueBatch(
        _ items: [(submission: TaskSubmission, idempotencyKey: IdempotencyKey?)], idempotencyWindowMilliseconds: Int
    ) -> [Result<EnqueueOutcome, TaskStoreError>] {
        var results = [Result<EnqueueOutcome, TaskStoreError>?](repeating: nil, count: items.count)
        var byQueue: [QueueName: [(index: Int, request: EnqueueRequest)]] = [:]
        var order: [QueueName] = []
        for (index, item) in items.enumerated() {
            let request = enqueueRequest(
                item.submission, idempotencyKey: item.idempotencyKey,
                idempotencyWindowMilliseconds: idempotencyWindowMilliseconds)
            if byQueue[request.id.queue] == nil { order.append(request.id.queue) }
            byQueue[request.id.queue, default: []].append((index, request))
        }
        for queue in order {
            let group = byQueue[queue] ?? []
            let call = enqueueCall(group.map(\.request))
            let reply: RedisValue
            do {
                // Keyed by fresh ids: safe to repeat after a broken connection, as a single enqueue is.
                reply = try retryingOnce { connection throws(RedisError) in
                    try runReplicated(TaskScripts.enqueue, on: connection, keys: call.keys, arguments: call.arguments)
                }
            } catch {
                for entry in group { results[entry.index] = .failure(error) }
                continue
            }
            for (position, entry) in group.enumerated() {
                do {
                    results[entry.index] = .success(try enqueueOutcome(reply, index: position, for: entry.request))
                } catch {
                    results[entry.index] = .failure(error)
                }
            }
        }
        return results.map { $0 ?? .failure(TaskStoreError(.failed, "no outcome")) }
    }
}

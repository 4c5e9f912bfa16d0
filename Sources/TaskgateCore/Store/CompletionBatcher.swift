import TaskgateRedis

/// Group commit for completions: while one batch is on its way to Redis, the next gathers; each batch is one
/// `completeMany` script, so Redis pays the cost of a script call once per batch, not once per task.
///
/// No timer is involved: under light load a completion is sent at once, alone.
final class CompletionBatcher: Sendable {
    struct Entry: Sendable {
        let lease: Lease
        let result: String
        let retentionMilliseconds: Int
        let ifFailed: @Sendable (TaskStoreError) -> Void
    }

    private let commits: GroupCommit<Entry>

    init(pipeline: RedisPipeline, keys: KeySpace, maxBatch: Int = 256) {
        self.commits = GroupCommit(maxBatch: maxBatch) { batch, queue, done in
            Self.send(batch, queue: queue, pipeline: pipeline, keys: keys, done: done)
        }
    }

    func add(_ entry: Entry) {
        commits.add(entry, queue: entry.lease.id.queue)
    }

    private static func send(
        _ batch: [Entry], queue: QueueName, pipeline: RedisPipeline, keys: KeySpace,
        done: @escaping @Sendable () -> Void
    ) {
        var taskKeys = [keys.active(queue), keys.leases(queue)]
        var arguments: [any RedisArgument] = [max(1, batch.map(\.retentionMilliseconds).max() ?? 1)]
        for entry in batch {
            taskKeys.append(keys.task(entry.lease.id))
            arguments += [entry.lease.id.rawValue, entry.lease.token, entry.result] as [any RedisArgument]
        }
        pipeline.run(TaskScripts.completeMany, keys: taskKeys, arguments: arguments) { reply in
            switch reply {
            case .success(let value):
                let completed = value.array ?? []
                for (index, entry) in batch.enumerated() {
                    let outcome = index < completed.count ? completed[index] : .null
                    if outcome.int == 1 { continue }
                    if outcome.int == 0 {
                        entry.ifFailed(RedisTaskStore.leaseLost(entry.lease))
                    } else {
                        let message = outcome.string ?? "no reply for \(entry.lease.id) from completeMany"
                        entry.ifFailed(TaskStoreError(RedisError(.server, message)))
                    }
                }
            case .failure(let error):
                let failure = TaskStoreError(error)
                batch.forEach { $0.ifFailed(failure) }
            }
            done()
        }
    }
}

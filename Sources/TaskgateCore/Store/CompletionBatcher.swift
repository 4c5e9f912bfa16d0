import TaskgateRedis

/// Group commit for completions: while one batch is on its way to Redis, the next gathers; each batch is one
/// `completeMany` script, so Redis pays the cost of a script call once per batch, not once per task.
///
/// No timer is involved: under light load a completion is sent at once, alone.
final class CompletionBatcher: Sendable {
    struct Entry: Sendable {
        let lease: Lease
        let result: TaskResult
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
        let call = RedisTaskStore.completeManyCall(
            batch.map { ($0.lease, $0.result) }, queue: queue, keys: keys,
            retentionMilliseconds: batch.map(\.retentionMilliseconds).max() ?? 1)
        pipeline.run(TaskScripts.completeMany, keys: call.keys, arguments: call.arguments, replicated: true) {
            reply in
            switch reply {
            case .success(let value):
                let completed = value.array ?? []
                for (index, entry) in batch.enumerated() {
                    let outcome = index < completed.count ? completed[index] : nil
                    if let error = RedisTaskStore.completionError(outcome, for: entry.lease) { entry.ifFailed(error) }
                }
            case .failure(let error):
                let failure = TaskStoreError(error)
                batch.forEach { $0.ifFailed(failure) }
            }
            done()
        }
    }
}

import Synchronization
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

    private struct State {
        var waiting: [QueueName: [Entry]] = [:]
        var sending: Set<QueueName> = []
    }

    private let pipeline: RedisPipeline
    private let keys: KeySpace
    private let maxBatch: Int
    private let state = Mutex(State())

    init(pipeline: RedisPipeline, keys: KeySpace, maxBatch: Int = 256) {
        self.pipeline = pipeline
        self.keys = keys
        self.maxBatch = maxBatch
    }

    func add(_ entry: Entry) {
        let queue = entry.lease.id.queue
        let batch = state.withLock { state -> [Entry]? in
            state.waiting[queue, default: []].append(entry)
            guard !state.sending.contains(queue) else { return nil }
            state.sending.insert(queue)
            return take(queue, from: &state)
        }
        if let batch { send(batch, queue: queue) }
    }

    private func take(_ queue: QueueName, from state: inout State) -> [Entry] {
        let all = state.waiting[queue] ?? []
        let batch = Array(all.prefix(maxBatch))
        state.waiting[queue] = Array(all.dropFirst(batch.count))
        return batch
    }

    private func send(_ batch: [Entry], queue: QueueName) {
        var taskKeys = [keys.active(queue), keys.leases(queue)]
        var arguments: [any RedisArgument] = [max(1, batch.map(\.retentionMilliseconds).max() ?? 1)]
        for entry in batch {
            taskKeys.append(keys.task(entry.lease.id))
            arguments += [entry.lease.id.rawValue, entry.lease.token, entry.result] as [any RedisArgument]
        }
        pipeline.run(TaskScripts.completeMany, keys: taskKeys, arguments: arguments) { reply in
            switch reply {
            case .success(let value):
                let done = value.array ?? []
                for (index, entry) in batch.enumerated() where index >= done.count || done[index].int != 1 {
                    entry.ifFailed(RedisTaskStore.leaseLost(entry.lease))
                }
            case .failure(let error):
                let failure = TaskStoreError(error)
                batch.forEach { $0.ifFailed(failure) }
            }
            let next = self.state.withLock { state -> [Entry]? in
                guard !(state.waiting[queue] ?? []).isEmpty else {
                    state.sending.remove(queue)
                    return nil
                }
                return self.take(queue, from: &state)
            }
            if let next { self.send(next, queue: queue) }
        }
    }
}

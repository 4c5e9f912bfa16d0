import Synchronization
import TaskgateRedis

/// Enqueues over a ``RedisPipeline`` with group commit: every `POST /tasks` waiting for a queue goes to Redis in
/// one enqueue script call, so Redis pays for a script call per batch, not per task.
///
/// A call stores its tasks in one atomic step, each task as it would be stored alone. A call cut by a broken
/// connection is resent once; that is safe because every task is keyed by its new id and the script writes
/// nothing for an id that exists. Callers never wait on Redis: the gateway suspends a request until its
/// completion arrives.
public final class PipelinedEnqueuer: TaskEnqueuing {
    /// Called with a closure that yields the outcome.
    public typealias Completion =
        @Sendable (_ outcome: @escaping @Sendable () -> Result<EnqueueOutcome, TaskStoreError>) -> Void

    private struct Entry: Sendable {
        let request: EnqueueRequest
        let completion: Completion
    }

    private let store: RedisTaskStore
    private let pipeline: RedisPipeline
    private let commits: GroupCommit<Entry>
    private let clock = RedisClock()

    /// Creates an enqueuer with a pipeline of its own; call ``start()`` before use.
    public init(store: RedisTaskStore, redis: RedisConfiguration, onError: (@Sendable (RedisError) -> Void)? = nil) {
        // One batch per queue in flight: while it is in Redis, the next gathers, so batches grow with the
        // load (two in flight made batches half as big and cost Redis and the gateway more per request).
        // One connection then does: batches of different queues share its rounds.
        let pipeline = RedisPipeline(configuration: redis, label: "taskgate.enqueuer", writers: 1, onError: onError)
        self.store = store
        self.pipeline = pipeline
        let clock = self.clock
        self.commits = GroupCommit(maxBatch: 256, maxInFlight: 1) { batch, _, done in
            Self.send(batch, store: store, pipeline: pipeline, clock: clock, done: done)
        }
    }

    /// Starts the writer threads.
    public func start() {
        pipeline.start()
    }

    /// Answers every request handed in so far, then stops the writers.
    public func stop() {
        pipeline.stop()
    }

    public func enqueue(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey?, idempotencyWindowMilliseconds: Int,
        completion: @escaping Completion
    ) {
        let request = store.enqueueRequest(
            submission, idempotencyKey: idempotencyKey, idempotencyWindowMilliseconds: idempotencyWindowMilliseconds)
        commits.add(Entry(request: request, completion: completion), queue: submission.queue)
    }

    /// Sends a batch: its plain tasks (no idempotency key, no delay) as one enqueue transaction once Redis' clock
    /// is known, the others (or all, on a Redis Cluster or before the first reply) through the enqueue script.
    private static func send(
        _ batch: [Entry], store: RedisTaskStore, pipeline: RedisPipeline, clock: RedisClock,
        done: @escaping @Sendable () -> Void
    ) {
        guard pipeline.runsTransactions, let now = clock.now() else {
            sendScript(batch, store: store, pipeline: pipeline, clock: clock, done: done)
            return
        }
        var plain: [Entry] = []
        var others: [Entry] = []
        plain.reserveCapacity(batch.count)
        for entry in batch {
            if RedisTaskStore.isPlain(entry.request) { plain.append(entry) } else { others.append(entry) }
        }
        guard !plain.isEmpty else {
            sendScript(others, store: store, pipeline: pipeline, clock: clock, done: done)
            return
        }
        // The batch is done when both of its parts are.
        let parts = others.isEmpty ? done : Self.countdown(2, then: done)
        if !others.isEmpty { sendScript(others, store: store, pipeline: pipeline, clock: clock, done: parts) }
        let requests = plain.map(\.request)
        let entries = plain
        pipeline.run(store.enqueueTransaction(requests, now: now), replicated: true) { reply in
            let (outcomes, redisTime) = store.enqueueOutcomes(reply, for: requests, now: now)
            if let redisTime { clock.observe(redisMilliseconds: redisTime) }
            for (entry, outcome) in zip(entries, outcomes) {
                entry.completion { outcome }
            }
            parts()
        }
    }

    private static func sendScript(
        _ batch: [Entry], store: RedisTaskStore, pipeline: RedisPipeline, clock: RedisClock,
        done: @escaping @Sendable () -> Void
    ) {
        let call = store.enqueueCall(batch.map(\.request))
        pipeline.run(TaskScripts.enqueue, keys: call.keys, arguments: call.arguments, replicated: true) { reply in
            if case .success(let value) = reply, let now = value.array?.first?.int {
                clock.observe(redisMilliseconds: now)
            }
            for (index, entry) in batch.enumerated() {
                let request = entry.request
                entry.completion {
                    do throws(TaskStoreError) {
                        switch reply {
                        case .success(let value):
                            return .success(try store.enqueueOutcome(value, index: index, for: request))
                        case .failure(let error): throw TaskStoreError(error)
                        }
                    } catch {
                        return .failure(error)
                    }
                }
            }
            done()
        }
    }

    /// A closure that calls `done` on its `count`th call.
    private static func countdown(_ count: Int, then done: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let left = Atomic<Int>(count)
        return {
            if left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done() }
        }
    }
}

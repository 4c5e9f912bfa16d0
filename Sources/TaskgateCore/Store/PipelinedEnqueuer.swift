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

    /// Creates an enqueuer with a pipeline of its own; call ``start()`` before use.
    public init(store: RedisTaskStore, redis: RedisConfiguration, onError: (@Sendable (RedisError) -> Void)? = nil) {
        // One batch per queue in flight: while it is in Redis, the next gathers, so batches grow with the
        // load (two in flight made batches half as big and cost Redis and the gateway more per request).
        // One connection then does: batches of different queues share its rounds.
        let pipeline = RedisPipeline(configuration: redis, label: "taskgate.enqueuer", writers: 1, onError: onError)
        self.store = store
        self.pipeline = pipeline
        self.commits = GroupCommit(maxBatch: 256, maxInFlight: 1) { batch, _, done in
            Self.send(batch, store: store, pipeline: pipeline, done: done)
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

    private static func send(
        _ batch: [Entry], store: RedisTaskStore, pipeline: RedisPipeline, done: @escaping @Sendable () -> Void
    ) {
        let call = store.enqueueCall(batch.map(\.request))
        pipeline.run(TaskScripts.enqueue, keys: call.keys, arguments: call.arguments, replicated: true) { reply in
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
}

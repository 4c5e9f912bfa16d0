import TaskgateRedis

/// Enqueues over a ``RedisPipeline``: every waiting `POST /tasks` shares one round trip to Redis.
///
/// Each task is still stored by its own enqueue script, so each is atomic on its own. A round cut by a broken
/// connection is resent once; that is safe because every script is keyed by the new task's id and writes
/// nothing when the id exists. Callers never wait on Redis: the gateway suspends a request until its
/// completion arrives.
public final class PipelinedEnqueuer: TaskEnqueuing {
    private let store: RedisTaskStore
    private let pipeline: RedisPipeline

    /// Creates an enqueuer with a pipeline of its own; call ``start()`` before use.
    public init(store: RedisTaskStore, redis: RedisConfiguration) {
        self.store = store
        self.pipeline = RedisPipeline(configuration: redis, label: "taskgate.enqueuer")
    }

    /// Starts the writer thread.
    public func start() {
        pipeline.start()
    }

    /// Answers every request handed in so far, then stops the writer.
    public func stop() {
        pipeline.stop()
    }

    public func enqueue(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey?, idempotencyWindowMilliseconds: Int,
        completion:
            @escaping @Sendable (_ outcome: @escaping @Sendable () -> Result<EnqueueOutcome, TaskStoreError>)
            -> Void
    ) {
        let request = store.enqueueRequest(
            submission, idempotencyKey: idempotencyKey, idempotencyWindowMilliseconds: idempotencyWindowMilliseconds)
        let store = self.store
        pipeline.run(TaskScripts.enqueue, keys: request.keys, arguments: request.arguments) { reply in
            completion {
                do throws(TaskStoreError) {
                    switch reply {
                    case .success(let value): return .success(try store.enqueueOutcome(value, for: request))
                    case .failure(let error): throw TaskStoreError(error)
                    }
                } catch {
                    return .failure(error)
                }
            }
        }
    }
}

import Dispatch
import Synchronization
import TaskgateRedis

/// Enqueues many tasks over one Redis connection: a writer thread sends every enqueue script waiting, in one
/// pipeline, then reads all their replies, while new requests gather for the next round.
///
/// Each task is still stored by its own enqueue script, so each is atomic on its own; only the round trips are
/// shared. Callers never wait on Redis: the HTTP gateway suspends a request until its completion arrives.
/// A pipeline cut by a broken connection is sent once more on a fresh one; that is safe because every
/// script is keyed by the new task's id and writes nothing when the id exists.
public final class PipelinedEnqueuer: TaskEnqueuing {
    private struct Job: Sendable {
        let request: EnqueueRequest
        let completion: @Sendable (Result<RedisValue, TaskStoreError>) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var stopping = false
    }

    private let store: RedisTaskStore
    private let redis: RedisConfiguration
    private let maxBatch: Int
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Creates an enqueuer that sends at most `maxBatch` scripts per round; call ``start()`` before use.
    public init(store: RedisTaskStore, redis: RedisConfiguration, maxBatch: Int = 512) {
        self.store = store
        self.redis = redis
        self.maxBatch = max(1, maxBatch)
    }

    /// Starts the writer thread.
    public func start() {
        DispatchQueue(label: "taskgate.enqueuer").async { self.runWriter() }
    }

    /// Lets the writer finish every request handed in so far, then stops it and waits for it to end.
    public func stop() {
        queue.withLock { $0.stopping = true }
        wakeup.signal()
        finished.wait()
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
        let job = Job(request: request) { reply in
            completion {
                do throws(TaskStoreError) {
                    return .success(try store.enqueueOutcome(try reply.get(), id: request.id))
                } catch {
                    return .failure(error)
                }
            }
        }
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.jobs.append(job)
            return true
        }
        guard accepted else {
            job.completion(.failure(TaskStoreError(.unavailable, "the gateway is shutting down")))
            return
        }
        wakeup.signal()
    }

    private func runWriter() {
        var connection: RedisConnection?
        while true {
            wakeup.wait()
            let (batch, done) = queue.withLock { queue -> ([Job], Bool) in
                let taken = Array(queue.jobs.prefix(maxBatch))
                queue.jobs.removeFirst(taken.count)
                if !queue.jobs.isEmpty { wakeup.signal() }
                return (taken, queue.stopping && queue.jobs.isEmpty)
            }
            if !batch.isEmpty { send(batch, over: &connection) }
            if done { break }
        }
        finished.signal()
    }

    /// Sends one round: all scripts, then all replies; once more on a fresh connection if the first broke.
    private func send(_ batch: [Job], over connection: inout RedisConnection?) {
        for attempt in 0..<2 {
            do throws(RedisError) {
                let open: RedisConnection
                if let connection, !connection.isBroken {
                    open = connection
                } else {
                    open = try RedisConnection(configuration: redis)
                    connection = open
                }
                let sha = try TaskScripts.enqueue.loadedSHA(on: open)
                let replies = try open.pipeline(
                    batch.map {
                        TaskScripts.enqueue.command(sha: sha, keys: $0.request.keys, arguments: $0.request.arguments)
                    })
                for (job, reply) in zip(batch, replies) {
                    job.completion(result(of: reply, for: job, on: open))
                }
                return
            } catch {
                connection = nil
                if error.code == .io && attempt == 0 { continue }
                let failure = TaskStoreError(error)
                batch.forEach { $0.completion(.failure(failure)) }
                return
            }
        }
    }

    private func result(of reply: RedisValue, for job: Job, on connection: RedisConnection) -> Result<
        RedisValue, TaskStoreError
    > {
        guard case .error(let message) = reply else { return .success(reply) }
        guard message.hasPrefix("NOSCRIPT") else { return .failure(TaskStoreError(RedisError(.server, message))) }
        // Redis lost its scripts (restart, SCRIPT FLUSH): run this one alone, which loads the script again.
        do throws(RedisError) {
            return .success(
                try TaskScripts.enqueue.run(on: connection, keys: job.request.keys, arguments: job.request.arguments))
        } catch {
            return .failure(TaskStoreError(error))
        }
    }
}

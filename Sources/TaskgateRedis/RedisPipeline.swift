import Dispatch
import Synchronization

/// Runs scripts for many callers over one connection: a writer thread sends every script waiting, in one
/// pipeline, then reads all their replies, while new calls gather for the next round.
///
/// Each script stays atomic on its own; only the round trips are shared, which cuts Redis' per-call cost
/// several times under load. A round cut by a broken connection is sent once more on a fresh connection, so
/// only idempotent or guarded scripts belong here (Taskgate's are keyed by id or check an attempt token).
public final class RedisPipeline: Sendable {
    /// Called on the writer thread with the script's reply.
    public typealias Completion = @Sendable (Result<RedisValue, RedisError>) -> Void

    private struct Job: Sendable {
        let script: RedisScript
        let keys: [String]
        let arguments: [any RedisArgument]
        let replicated: Bool
        let completion: Completion
    }

    private struct Queue {
        var jobs: [Job] = []
        var running = false
        var stopping = false
        /// With Redis Cluster, one pipeline per node, made when first needed.
        var shards: [RedisEndpoint: RedisPipeline] = [:]
    }

    private let configuration: RedisConfiguration
    private let acknowledgement: RedisReplicaAcknowledgement?
    private let onError: (@Sendable (RedisError) -> Void)?
    private let label: String
    private let maxBatch: Int
    private let writers: Int
    /// Whether this pipeline hands each call to the pipeline of the cluster node owning its keys' slot.
    private let routesByNode: Bool
    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Creates a pipeline of `writers` connections, each with a writer thread, sending at most `maxBatch`
    /// scripts per round; call ``start()`` before use. With two writers, one connection's round is under way in
    /// Redis while the other's replies are read, so neither side waits for the other. `onError` hears of each
    /// round that failed (for a metric). With the configuration's ``RedisConfiguration/acknowledgement``, a round
    /// holding a call made with `replicated` ends with one `WAIT`, and those calls succeed only when enough
    /// replicas confirmed. With Redis Cluster there is one such pipeline per node, so a queue on one node never
    /// waits for a round on another (each keeps its `WAIT` on its own node).
    public convenience init(
        configuration: RedisConfiguration, label: String, writers: Int = 2, maxBatch: Int = 256,
        onError: (@Sendable (RedisError) -> Void)? = nil
    ) {
        self.init(
            configuration: configuration, label: label, writers: writers, maxBatch: maxBatch, onError: onError,
            routesByNode: configuration.cluster != nil)
    }

    private init(
        configuration: RedisConfiguration, label: String, writers: Int, maxBatch: Int,
        onError: (@Sendable (RedisError) -> Void)?, routesByNode: Bool
    ) {
        self.routesByNode = routesByNode
        self.configuration = configuration
        self.acknowledgement = configuration.acknowledgement
        self.onError = onError
        self.label = label
        self.writers = max(1, writers)
        self.maxBatch = max(1, maxBatch)
    }

    /// Starts the writer threads (once).
    public func start() {
        let first = queue.withLock { queue -> Bool in
            defer { queue.running = true }
            return !queue.running
        }
        guard first, !routesByNode else { return }
        for index in 0..<writers {
            DispatchQueue(label: "\(label).\(index)").async { self.runWriter() }
        }
    }

    /// Lets the writer finish every call handed in so far, then stops it and waits for it to end.
    public func stop() {
        let (running, shards) = queue.withLock { queue -> (Bool, [RedisPipeline]) in
            queue.stopping = true
            return (queue.running, Array(queue.shards.values))
        }
        guard running else { return }
        guard !routesByNode else {
            shards.forEach { $0.stop() }
            queue.withLock { $0.running = false }
            return
        }
        for _ in 0..<writers { wakeup.signal() }
        for _ in 0..<writers { finished.wait() }
        queue.withLock { $0.running = false }
    }

    /// Runs `script` in the next round and calls `completion` on the writer thread; with `replicated` (and an
    /// acknowledgement setting), only once enough replicas hold what it wrote.
    public func run(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgument], replicated: Bool = false,
        completion: @escaping Completion
    ) {
        if routesByNode, let cluster = configuration.cluster {
            let node = keys.first.flatMap { cluster.map.owner(of: RedisKeySlot.slot(of: $0)) } ?? cluster.seeds[0]
            let shard = queue.withLock { queue -> RedisPipeline? in
                guard !queue.stopping, queue.running else { return nil }
                if let shard = queue.shards[node] { return shard }
                let shard = RedisPipeline(
                    configuration: configuration, label: "\(label).\(node)", writers: writers, maxBatch: maxBatch,
                    onError: onError, routesByNode: false)
                shard.start()
                queue.shards[node] = shard
                return shard
            }
            guard let shard else {
                completion(.failure(RedisError(.io, "the \(label) pipeline is not running")))
                return
            }
            shard.run(script, keys: keys, arguments: arguments, replicated: replicated, completion: completion)
            return
        }
        let job = Job(
            script: script, keys: keys, arguments: arguments, replicated: replicated && acknowledgement != nil,
            completion: completion)
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping, queue.running else { return false }
            queue.jobs.append(job)
            return true
        }
        guard accepted else {
            completion(.failure(RedisError(.io, "the \(label) pipeline is not running")))
            return
        }
        wakeup.signal()
    }

    /// Runs `script` in the next round and suspends (holding no thread) until its reply.
    public func run(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgument], replicated: Bool = false
    ) async throws(RedisError) -> RedisValue {
        let result: Result<RedisValue, RedisError> = await withCheckedContinuation { continuation in
            run(script, keys: keys, arguments: arguments, replicated: replicated) {
                continuation.resume(returning: $0)
            }
        }
        return try result.get()
    }

    /// Runs `script` in the next round and waits for its reply (from a thread that may block).
    public func runAndWait(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgument], replicated: Bool = false
    ) throws(RedisError) -> RedisValue {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<RedisValue, RedisError>?>(nil)
        run(script, keys: keys, arguments: arguments, replicated: replicated) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = outcome.withLock({ $0 }) else { throw RedisError(.io, "no reply") }
        return try result.get()
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
            if done {
                wakeup.signal()  // pass the news on to the next writer
                break
            }
        }
        finished.signal()
    }

    /// Sends one round: all scripts, then all replies; once more on a fresh connection if the first broke.
    private func send(_ batch: [Job], over connection: inout RedisConnection?) {
        for attempt in 0..<2 {
            do throws(RedisError) {
                let open: RedisConnection
                if let connection, !connection.isStale {
                    open = connection
                } else {
                    open = try RedisConnection(configuration: configuration)
                    connection = open
                }
                var commands: [RedisCommand] = []
                commands.reserveCapacity(batch.count)
                for job in batch {
                    commands.append(
                        job.script.command(
                            sha: job.script.sha, keys: job.keys, arguments: job.arguments))
                }
                // One WAIT per round, after its scripts: it covers every write the connection made so far.
                let waiting = acknowledgement.flatMap { setting in batch.contains(where: \.replicated) ? setting : nil }
                if let waiting { commands.append(waiting.command) }
                let replies = try open.pipeline(commands)
                let shortfall = waiting.flatMap { $0.shortfall(replies[batch.count]) }
                if let shortfall { onError?(shortfall) }
                for (job, reply) in zip(batch, replies) {
                    if job.replicated, let shortfall, !reply.isError {
                        job.completion(.failure(shortfall))  // done on the master, but not held by replicas
                    } else {
                        job.completion(result(of: reply, for: job, on: open))
                    }
                }
                return
            } catch {
                connection = nil
                if error.code == .io && attempt == 0 { continue }
                onError?(error)
                batch.forEach { $0.completion(.failure(error)) }
                return
            }
        }
    }

    private func result(of reply: RedisValue, for job: Job, on connection: RedisConnection) -> Result<
        RedisValue, RedisError
    > {
        guard case .error(let message) = reply else { return .success(reply) }
        let error = RedisError(.server, message)
        guard error.isNoScript else { return .failure(error) }
        // Redis lost its scripts (restart, SCRIPT FLUSH): run this one alone, which loads the script again.
        do throws(RedisError) {
            let value = try job.script.runSource(on: connection, keys: job.keys, arguments: job.arguments)
            if job.replicated, let acknowledgement,
                let shortfall = acknowledgement.shortfall(try connection.send(acknowledgement.command))
            {
                return .failure(shortfall)
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }
}

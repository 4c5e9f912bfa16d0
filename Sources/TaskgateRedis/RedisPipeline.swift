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

    /// Called on the writer thread with how a transaction ran.
    public typealias TransactionCompletion = @Sendable (Result<RedisTransactionReply, RedisError>) -> Void

    private enum Work: Sendable {
        case script(RedisScriptCall, Completion)
        case transaction(RedisTransaction, TransactionCompletion)
    }

    private struct Job: Sendable {
        let work: Work
        let replicated: Bool

        func fail(_ error: RedisError) {
            switch work {
            case .script(_, let completion): completion(.failure(error))
            case .transaction(_, let completion): completion(.failure(error))
            }
        }
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
        enqueue(
            Job(
                work: .script(RedisScriptCall(script, keys: keys, arguments: arguments), completion),
                replicated: replicated))
    }

    /// Whether ``run(_:replicated:completion:)`` can run transactions: on a single Redis (or behind Sentinel),
    /// not on a Redis Cluster, where this pipeline routes each call by its keys to a node.
    public var runsTransactions: Bool { !routesByNode }

    /// Runs `transaction` in the next round and calls `completion` on the writer thread; with `replicated`, only
    /// once enough replicas hold what it wrote. A round sent again (its connection broke) runs the transaction's
    /// ``RedisTransaction/resend`` script instead. Not on a Redis Cluster (see ``runsTransactions``).
    public func run(
        _ transaction: RedisTransaction, replicated: Bool = false, completion: @escaping TransactionCompletion
    ) {
        guard !routesByNode else {
            completion(.failure(RedisError(.io, "the \(label) pipeline routes by node and runs no transactions")))
            return
        }
        enqueue(Job(work: .transaction(transaction, completion), replicated: replicated))
    }

    private func enqueue(_ job: Job) {
        let job = Job(work: job.work, replicated: job.replicated && acknowledgement != nil)
        let accepted = queue.withLock { queue -> Bool in
            guard !queue.stopping, queue.running else { return false }
            queue.jobs.append(job)
            return true
        }
        guard accepted else {
            job.fail(RedisError(.io, "the \(label) pipeline is not running"))
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

    /// Sends one round: all scripts and transactions, then all replies; once more on a fresh connection if the
    /// first broke (transactions then run their resend script).
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
                // Where each job's last reply is: a script's own, a transaction's EXEC.
                var ends: [Int] = []
                ends.reserveCapacity(batch.count)
                for job in batch {
                    switch job.work {
                    case .script(let call, _):
                        commands.append(call.command)
                    case .transaction(let transaction, _) where attempt > 0:
                        commands.append(transaction.resend().command)
                    case .transaction(let transaction, _):
                        commands.append(RedisCommand("MULTI"))
                        commands += transaction.commands
                        if let closing = transaction.closing { commands.append(closing.command) }
                        commands.append(RedisCommand("EXEC"))
                    }
                    ends.append(commands.count - 1)
                }
                // One WAIT per round, after its scripts: it covers every write the connection made so far.
                let waiting = acknowledgement.flatMap { setting in batch.contains(where: \.replicated) ? setting : nil }
                if let waiting { commands.append(waiting.command) }
                let replies = try open.pipeline(commands)
                let shortfall = waiting.flatMap { $0.shortfall(replies[commands.count - 1]) }
                if let shortfall { onError?(shortfall) }
                for (job, end) in zip(batch, ends) {
                    let reply = replies[end]
                    if job.replicated, let shortfall, !reply.isError {
                        job.fail(shortfall)  // done on the master, but not held by replicas
                        continue
                    }
                    switch job.work {
                    case .script(let call, let completion):
                        completion(result(of: reply, for: call, replicated: job.replicated, on: open))
                    case .transaction(let transaction, let completion) where attempt > 0:
                        completion(
                            result(of: reply, for: transaction.resend(), replicated: job.replicated, on: open).map {
                                .resent($0)
                            })
                    case .transaction(let transaction, let completion):
                        // EXEC refuses a transaction one of whose commands was refused when queued (OOM, say):
                        // that refusal, not EXECABORT, says why.
                        let queued = replies[
                            (end - transaction.commands.count - (transaction.closing == nil ? 0 : 1))..<end]
                        if reply.isError, case .error(let message)? = queued.first(where: \.isError) {
                            completion(.failure(RedisError(.server, message)))
                        } else {
                            completion(committed(reply, of: transaction, replicated: job.replicated, on: open))
                        }
                    }
                }
                return
            } catch {
                connection = nil
                if error.code == .io && attempt == 0 { continue }
                onError?(error)
                batch.forEach { $0.fail(error) }
                return
            }
        }
    }

    /// A transaction's outcome from its `EXEC` reply; a closing script Redis did not know is run by its source.
    private func committed(
        _ reply: RedisValue, of transaction: RedisTransaction, replicated: Bool, on connection: RedisConnection
    ) -> Result<RedisTransactionReply, RedisError> {
        guard var values = reply.array,
            values.count == transaction.commands.count + (transaction.closing == nil ? 0 : 1)
        else {
            if case .error(let message) = reply { return .failure(RedisError(.server, message)) }
            return .failure(RedisError(.protocolViolation, "unexpected EXEC reply \(reply)"))
        }
        if let closing = transaction.closing, case .error(let message) = values[values.count - 1],
            RedisError(.server, message).isNoScript
        {
            values[values.count - 1] =
                switch result(of: values[values.count - 1], for: closing, replicated: replicated, on: connection) {
                case .success(let value): value
                case .failure(let error): .error(error.message)
                }
        }
        if transaction.closing != nil, case .error(let message) = values[values.count - 1] {
            // The commands before it are done and stay done; the failure is heard (a metric, a log line).
            onError?(RedisError(.server, message))
        }
        return .success(.committed(values))
    }

    private func result(
        of reply: RedisValue, for call: RedisScriptCall, replicated: Bool, on connection: RedisConnection
    ) -> Result<RedisValue, RedisError> {
        guard case .error(let message) = reply else { return .success(reply) }
        let error = RedisError(.server, message)
        guard error.isNoScript else { return .failure(error) }
        // Redis lost its scripts (restart, SCRIPT FLUSH): run this one alone, which loads the script again.
        do throws(RedisError) {
            let value = try call.runSource(on: connection)
            if replicated, let acknowledgement,
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

import Synchronization
import TaskgateRedis

/// The ``TaskStore`` on Redis: one Lua script per multi-key state change, keys from ``KeySpace``.
public struct RedisTaskStore: TaskStore {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// When set, claims and reports on attempts go through it and share round trips with other callers.
    public let pipeline: RedisPipeline?
    private let completions: CompletionBatcher?

    /// Creates a store on a connection pool, optionally sharing round trips through a started `pipeline`.
    public init(pool: RedisConnectionPool, keys: KeySpace = .standard, pipeline: RedisPipeline? = nil) {
        self.pool = pool
        self.keys = keys
        self.pipeline = pipeline
        self.completions = pipeline.map { CompletionBatcher(pipeline: $0, keys: keys) }
    }

    public func enqueue(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey? = nil, idempotencyWindowMilliseconds: Int = 0
    ) throws(TaskStoreError) -> EnqueueOutcome {
        let request = enqueueRequest(
            submission, idempotencyKey: idempotencyKey, idempotencyWindowMilliseconds: idempotencyWindowMilliseconds)
        let call = enqueueCall([request])
        // The script is keyed by a fresh id and writes nothing when the id exists, so repeating it after a
        // broken connection (when the first call may or may not have landed) cannot enqueue twice.
        let reply = try retryingOnce { connection throws(RedisError) in
            try runReplicated(TaskScripts.enqueue, on: connection, keys: call.keys, arguments: call.arguments)
        }
        return try enqueueOutcome(reply, index: 0, for: request)
    }

    /// A submission under a fresh id, with its part of the enqueue script's keys and arguments.
    public func enqueueRequest(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey?, idempotencyWindowMilliseconds: Int
    ) -> EnqueueRequest {
        let id = TaskID.generate(queue: submission.queue)
        let payload = submission.payload.serialized
        var taskKeys = [keys.task(id)]
        if let idempotencyKey { taskKeys.append(keys.idempotency(id.queue, idempotencyKey)) }
        return EnqueueRequest(
            id: id, submission: submission, payload: payload, keys: taskKeys,
            windowMilliseconds: idempotencyKey == nil ? 0 : max(1, idempotencyWindowMilliseconds))
    }

    /// The enqueue script's keys and arguments for `requests`, which must all be for one queue.
    public func enqueueCall(_ requests: [EnqueueRequest]) -> (keys: [String], arguments: [any RedisArgument]) {
        let queue = requests.first?.id.queue ?? .default
        var callKeys = [keys.pending(queue), keys.scheduled(queue)]
        var arguments: [any RedisArgument] = [keys.events(queue)]
        callKeys.reserveCapacity(2 + 2 * requests.count)
        arguments.reserveCapacity(1 + 11 * requests.count)
        for request in requests {
            precondition(request.id.queue == queue, "one enqueue call is for one queue")
            callKeys += request.keys
            arguments += request.arguments
        }
        return (callKeys, arguments)
    }

    /// Runs the enqueue script over `requests` (all of one queue) as they are, ids and keys included, and
    /// returns its raw reply (see ``TaskScripts/enqueue``): for callers that build their own requests (a
    /// schedule's ticks). Safe to repeat after a broken connection: an id or key that exists is not written.
    func runEnqueue(_ requests: [EnqueueRequest]) throws(TaskStoreError) -> RedisValue {
        let call = enqueueCall(requests)
        return try retryingOnce { connection throws(RedisError) in
            try runReplicated(TaskScripts.enqueue, on: connection, keys: call.keys, arguments: call.arguments)
        }
    }

    /// Reads the part of an enqueue script's reply that answers the request at `index` of its call; a replay
    /// reads the earlier task's record.
    public func enqueueOutcome(_ reply: RedisValue, index: Int, for request: EnqueueRequest) throws(TaskStoreError)
        -> EnqueueOutcome
    {
        let id = request.id
        guard let parts = reply.array, parts.count >= 3 + 2 * index, let now = parts[0].int,
            let kind = parts[1 + 2 * index].string
        else {
            throw TaskStoreError(.corrupt, "unexpected enqueue reply for \(id)")
        }
        let data = parts[2 + 2 * index]
        switch kind {
        case "created":
            return .created(
                TaskRecord(
                    id: id, submission: request.submission, payload: request.payload,
                    storedAt: Timestamp(milliseconds: now)))
        case "existing":
            guard let record = try record(from: data) else {
                throw TaskStoreError(.corrupt, "enqueue of \(id) returned no record")
            }
            return .created(record)
        case "replayed", "conflict":
            guard let existing = data.string.flatMap(TaskID.init) else {
                throw TaskStoreError(.corrupt, "an idempotency key holds no task id")
            }
            if kind == "conflict" { return .keyReused(existing: existing) }
            guard let record = try task(existing) else { return .replayedExpired(existing) }
            return .replayed(record)
        case "error":
            throw TaskStoreError(RedisError(.server, data.string ?? "enqueue of \(id) failed"))
        default:
            throw TaskStoreError(.corrupt, "unexpected enqueue reply \(kind)")
        }
    }

    public func task(_ id: TaskID) throws(TaskStoreError) -> TaskRecord? {
        let key = keys.task(id)
        let reply = try retryingOnce { connection throws(RedisError) in
            try connection.send(RedisCommand("HGETALL", key))
        }
        return try record(from: reply)
    }

    public func ping() throws(TaskStoreError) {
        _ = try retryingOnce { connection throws(RedisError) in try connection.send(RedisCommand("PING")) }
    }

    public func extend(_ leases: [Lease], leaseMilliseconds: Int) throws(TaskStoreError) -> [Lease] {
        var lost: [Lease] = []
        for (queue, group) in Dictionary(grouping: leases, by: \.id.queue) {
            let taskKeys = [keys.leases(queue)] + group.map { keys.task($0.id) }
            let arguments: [any RedisArgument] =
                [max(1, leaseMilliseconds)] + group.flatMap { [$0.id.rawValue, $0.token] as [any RedisArgument] }
            let reply = try runScript(TaskScripts.extend, keys: taskKeys, arguments: arguments)
            guard let held = reply.array, held.count == group.count else {
                throw TaskStoreError(.corrupt, "unexpected extend reply \(reply)")
            }
            lost += zip(group, held).filter { $0.1.int != 1 }.map(\.0)
        }
        return lost
    }

    public func complete(_ lease: Lease, result: TaskResult, retentionMilliseconds: Int) throws(TaskStoreError) {
        try perform(completeCall(lease, result: result, retentionMilliseconds: retentionMilliseconds))
    }

    public func recordSuccess(
        _ lease: Lease, result: TaskResult, retentionMilliseconds: Int
    ) async throws(TaskStoreError) {
        try await performWithoutBlocking(
            completeCall(lease, result: result, retentionMilliseconds: retentionMilliseconds))
    }

    public func completeEventually(
        _ lease: Lease, result: TaskResult, retentionMilliseconds: Int,
        ifFailed: @escaping @Sendable (TaskStoreError) -> Void
    ) {
        guard let completions else {
            do throws(TaskStoreError) {
                try complete(lease, result: result, retentionMilliseconds: retentionMilliseconds)
            } catch {
                ifFailed(error)
            }
            return
        }
        completions.add(
            CompletionBatcher.Entry(
                lease: lease, result: result, retentionMilliseconds: retentionMilliseconds, ifFailed: ifFailed))
    }

    public func fail(
        _ lease: Lease, error message: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) throws(TaskStoreError) -> FailureOutcome {
        try perform(
            failCall(
                lease, error: message, backoffMilliseconds: backoffMilliseconds,
                retentionMilliseconds: retentionMilliseconds))
    }

    public func recordFailure(
        _ lease: Lease, error message: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) async throws(TaskStoreError) -> FailureOutcome {
        try await performWithoutBlocking(
            failCall(
                lease, error: message, backoffMilliseconds: backoffMilliseconds,
                retentionMilliseconds: retentionMilliseconds))
    }

    private func completeCall(_ lease: Lease, result: TaskResult, retentionMilliseconds: Int) -> ScriptCall<Void> {
        let call = Self.completeManyCall(
            [(lease, result)], queue: lease.id.queue, keys: keys, retentionMilliseconds: retentionMilliseconds)
        return ScriptCall(
            script: TaskScripts.completeMany, keys: call.keys, arguments: call.arguments, replicated: true
        ) { reply throws(TaskStoreError) in
            if let error = Self.completionError(reply.array?.first, for: lease) { throw error }
        }
    }

    /// The `completeMany` script's keys and arguments for completions of tasks of `queue`.
    static func completeManyCall(
        _ completions: [(lease: Lease, result: TaskResult)], queue: QueueName, keys: KeySpace,
        retentionMilliseconds: Int
    ) -> (keys: [String], arguments: [any RedisArgument]) {
        var taskKeys = [
            keys.active(queue), keys.leases(queue), keys.callbacks(queue), keys.stats(queue), keys.released(queue),
        ]
        var arguments: [any RedisArgument] = [max(1, retentionMilliseconds), keys.events(queue)]
        for (lease, result) in completions {
            taskKeys.append(keys.task(lease.id))
            arguments += [lease.id.rawValue, lease.token, result.json] as [any RedisArgument]
        }
        return (taskKeys, arguments)
    }

    /// Why `completeMany` did not complete a task, from its answer for that task; `nil` when it did.
    static func completionError(_ outcome: RedisValue?, for lease: Lease) -> TaskStoreError? {
        switch outcome?.int {
        case 1, 2: return nil
        case 0: return leaseLost(lease)
        default:
            return TaskStoreError(RedisError(.server, outcome?.string ?? "no reply for \(lease.id) from completeMany"))
        }
    }

    private func failCall(
        _ lease: Lease, error message: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) -> ScriptCall<FailureOutcome> {
        let id = lease.id
        return ScriptCall(
            script: TaskScripts.fail,
            keys: [
                keys.task(id), keys.active(id.queue), keys.retrying(id.queue), keys.dead(id.queue),
                keys.leases(id.queue), keys.callbacks(id.queue), keys.stats(id.queue), keys.released(id.queue),
            ],
            arguments: [
                id.rawValue, lease.token, message, max(0, backoffMilliseconds), max(1, retentionMilliseconds),
                keys.events(id.queue),
            ],
            replicated: true
        ) { reply throws(TaskStoreError) -> FailureOutcome in
            guard let values = reply.array, let kind = values.first?.int else {
                throw TaskStoreError(.corrupt, "unexpected fail reply \(reply)")
            }
            switch (kind, values.count) {
            case (1, 3):
                return .retrying(retries: values[1].int ?? 0, runAt: Timestamp(milliseconds: values[2].int ?? 0))
            case (2, 2):
                return .dead(retries: values[1].int ?? 0)
            default:
                throw Self.leaseLost(lease)
            }
        }
    }

    public func requeue(_ lease: Lease) throws(TaskStoreError) {
        let id = lease.id
        let taskKeys = [keys.task(id), keys.active(id.queue), keys.pending(id.queue), keys.leases(id.queue)]
        let reply = try runScript(
            TaskScripts.requeue, keys: taskKeys, arguments: [id.rawValue, lease.token, keys.events(id.queue)])
        guard reply.int == 1 else { throw Self.leaseLost(lease) }
    }

    static func leaseLost(_ lease: Lease) -> TaskStoreError {
        TaskStoreError(
            .leaseLost, "\(lease.id) is no longer held by this attempt: its lease expired and it was recovered")
    }

    func record(from reply: RedisValue) throws(TaskStoreError) -> TaskRecord? {
        guard let values = reply.array else { return nil }
        if values.isEmpty { return nil }
        guard let record = TaskRecord(flatFields: values.map { $0.string ?? "" }) else {
            throw TaskStoreError(.corrupt, "a task hash is missing fields")
        }
        return record
    }

    /// Runs a script through the pipeline when there is one, else on a pooled connection (once more on a fresh
    /// one when that broke). Only for scripts that are safe to repeat: keyed by id or guarded by a token.
    /// With `replicated`, the change is acknowledged only once the replicas `--min-replicas` asks for hold it.
    func runScript(
        _ script: RedisScript, keys: [String], arguments: [any RedisArgument], replicated: Bool = false
    ) throws(TaskStoreError) -> RedisValue {
        guard let pipeline else {
            return try retryingOnce { connection throws(RedisError) in
                replicated
                    ? try runReplicated(script, on: connection, keys: keys, arguments: arguments)
                    : try script.run(on: connection, keys: keys, arguments: arguments)
            }
        }
        do {
            return try pipeline.runAndWait(script, keys: keys, arguments: arguments, replicated: replicated)
        } catch {
            throw TaskStoreError(error)
        }
    }

    /// Runs a call's script (see ``runScript(_:keys:arguments:)``) and decodes its reply.
    private func perform<T>(_ call: ScriptCall<T>) throws(TaskStoreError) -> T {
        try call.decode(
            try runScript(call.script, keys: call.keys, arguments: call.arguments, replicated: call.replicated))
    }

    /// Runs `script` on `connection`, then, with `--min-replicas`, `WAIT`s until that many replicas hold what
    /// the connection wrote; throws ``RedisError/Code/notReplicated`` when they do not confirm in time.
    func runReplicated(
        _ script: RedisScript, on connection: RedisConnection, keys: [String], arguments: [any RedisArgument]
    ) throws(RedisError) -> RedisValue {
        guard let acknowledgement = pool.configuration.acknowledgement else {
            return try script.run(on: connection, keys: keys, arguments: arguments)
        }
        // One pipeline: on a Cluster the WAIT must reach the master that ran the script.
        let replies = try script.run(on: connection, keys: keys, arguments: arguments, then: acknowledgement.command)
        if let shortfall = acknowledgement.shortfall(replies.next) { throw shortfall }
        return replies.script
    }

    /// Runs a call's script without holding the caller's thread, and decodes its reply: through the pipeline,
    /// or without one (tests, embedded use) on one of a few threads made for blocking calls.
    private func performWithoutBlocking<T: Sendable>(_ call: ScriptCall<T>) async throws(TaskStoreError) -> T {
        guard let pipeline else {
            let store = self
            return try await Self.unpipelined.next.run { () throws(TaskStoreError) -> T in try store.perform(call) }
        }
        do {
            return try call.decode(
                try await pipeline.run(
                    call.script, keys: call.keys, arguments: call.arguments, replicated: call.replicated))
        } catch let error as TaskStoreError {
            throw error
        } catch let error as RedisError {
            throw TaskStoreError(error)
        } catch {
            throw TaskStoreError(.failed, "\(error)")
        }
    }

    /// Runs `body` and, when the connection broke (a stale pooled connection after a Redis restart),
    /// once more on a fresh connection. Only for idempotent bodies.
    func retryingOnce<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(TaskStoreError) -> T {
        do {
            return try pool.withConnectionRetryingOnce(body)
        } catch {
            throw TaskStoreError(error)
        }
    }
}

/// The threads an unpipelined store's async calls block on, taken in turn, so that async callers (an embedded
/// worker's slots) never hold a thread of Swift concurrency for a round trip.
private final class UnpipelinedExecutors: Sendable {
    private let executors = (0..<4).map { BlockingExecutor(label: "taskgate.store.unpipelined-\($0)") }
    private let turn = Atomic<Int>(0)

    var next: BlockingExecutor {
        executors[turn.add(1, ordering: .relaxed).newValue % executors.count]
    }
}

extension RedisTaskStore {
    fileprivate static let unpipelined = UnpipelinedExecutors()
}

/// One script run by the store: what to send, and how to read the reply.
private struct ScriptCall<T>: Sendable {
    let script: RedisScript
    let keys: [String]
    let arguments: [any RedisArgument]
    /// Whether the call reports an attempt's outcome, which `--min-replicas` makes wait for replicas.
    var replicated = false
    let decode: @Sendable (RedisValue) throws(TaskStoreError) -> T
}

import TaskgateRedis

/// The ``TaskStore`` on Redis: one Lua script per multi-key state change, keys from ``KeySpace``.
public struct RedisTaskStore: TaskStore {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace

    /// Creates a store on a connection pool.
    public init(pool: RedisConnectionPool, keys: KeySpace = .standard) {
        self.pool = pool
        self.keys = keys
    }

    public func enqueue(_ submission: TaskSubmission) throws(TaskStoreError) -> TaskRecord {
        let id = TaskID.generate(queue: submission.queue)
        let payload = submission.payload.serialized
        let arguments: [any RedisArgument] = [
            id.rawValue, submission.type ?? "", payload, submission.maxRetries,
            submission.timeoutMilliseconds.map(String.init) ?? "", submission.delayMilliseconds,
        ]
        let taskKeys = [keys.task(id), keys.pending(id.queue), keys.scheduled(id.queue)]
        // The script is keyed by a fresh id and writes nothing when the id exists, so repeating it after a
        // broken connection (when the first call may or may not have landed) cannot enqueue twice.
        let reply = try retryingOnce { connection throws(RedisError) in
            try TaskScripts.enqueue.run(on: connection, keys: taskKeys, arguments: arguments)
        }
        guard let record = try record(from: reply) else {
            throw TaskStoreError(.corrupt, "enqueue of \(id) returned no record")
        }
        return record
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

    public func claim(from queue: QueueName, blockMilliseconds: Int) throws(TaskStoreError) -> TaskRecord? {
        let pending = keys.pending(queue)
        let active = keys.active(queue)
        let timeout = String(Double(blockMilliseconds) / 1000)
        do {
            return try pool.withConnection { connection throws(RedisError) -> TaskRecord? in
                let moved = try connection.sendBlocking(
                    RedisCommand("BLMOVE", pending, active, "RIGHT", "LEFT", timeout),
                    blockMilliseconds: blockMilliseconds)
                guard let rawID = moved.string else { return nil }
                guard let id = TaskID(rawID) else {
                    // Not ours: take it off the active list so it cannot clog it.
                    _ = try connection.send(RedisCommand("LREM", active, 1, rawID))
                    return nil
                }
                let reply = try TaskScripts.start.run(
                    on: connection, keys: [keys.task(id), active], arguments: [id.rawValue])
                return try? record(from: reply)
            }
        } catch {
            throw TaskStoreError(error)
        }
    }

    public func complete(_ id: TaskID, result: String, retentionMilliseconds: Int) throws(TaskStoreError) -> Bool {
        let taskKeys = [keys.task(id), keys.active(id.queue)]
        let reply = try retryingOnce { connection throws(RedisError) in
            try TaskScripts.complete.run(
                on: connection, keys: taskKeys, arguments: [id.rawValue, result, max(1, retentionMilliseconds)])
        }
        return reply.int == 1
    }

    public func fail(
        _ id: TaskID, error message: String, backoffMilliseconds: Int, retentionMilliseconds: Int
    ) throws(TaskStoreError) -> FailureOutcome {
        let taskKeys = [keys.task(id), keys.active(id.queue), keys.scheduled(id.queue), keys.dead(id.queue)]
        let reply = try retryingOnce { connection throws(RedisError) in
            try TaskScripts.fail.run(
                on: connection, keys: taskKeys,
                arguments: [id.rawValue, message, max(0, backoffMilliseconds), max(1, retentionMilliseconds)])
        }
        guard let values = reply.array, let kind = values.first?.int else {
            throw TaskStoreError(.corrupt, "unexpected fail reply \(reply)")
        }
        switch (kind, values.count) {
        case (1, 3):
            return .retrying(retries: values[1].int ?? 0, runAt: Timestamp(milliseconds: values[2].int ?? 0))
        case (2, 2):
            return .dead(retries: values[1].int ?? 0)
        default:
            return .notActive
        }
    }

    public func requeue(_ id: TaskID) throws(TaskStoreError) -> Bool {
        let taskKeys = [keys.task(id), keys.active(id.queue), keys.pending(id.queue)]
        let reply = try retryingOnce { connection throws(RedisError) in
            try TaskScripts.requeue.run(on: connection, keys: taskKeys, arguments: [id.rawValue])
        }
        return reply.int == 1
    }

    public func promoteDue(in queue: QueueName, limit: Int) throws(TaskStoreError) -> Promotion {
        let scheduled = keys.scheduled(queue)
        return try retryingOnce { connection throws(RedisError) -> Promotion in
            let replies = try connection.pipeline([
                RedisCommand("TIME"), RedisCommand("ZRANGE", scheduled, 0, max(1, limit) - 1, "WITHSCORES"),
            ])
            guard let time = replies[0].array, time.count == 2, let seconds = time[0].int, let micros = time[1].int,
                let entries = replies[1].array
            else { throw RedisError(.protocolViolation, "unexpected TIME/ZRANGE reply") }
            let now = seconds * 1000 + micros / 1000
            var due: [TaskID] = []
            var nextDue: Int?
            var index = 0
            while index + 1 < entries.count {
                let score = entries[index + 1].string.flatMap { Double($0) } ?? 0
                if Int(score) <= now {
                    if let id = entries[index].string.flatMap(TaskID.init) { due.append(id) }
                } else if nextDue == nil {
                    nextDue = Int(score) - now
                }
                index += 2
            }
            guard !due.isEmpty else { return Promotion(promoted: 0, nextDueInMilliseconds: nextDue) }
            let moved = try TaskScripts.promote.run(
                on: connection, keys: [scheduled, keys.pending(queue)] + due.map { keys.task($0) },
                arguments: due.map { $0.rawValue })
            return Promotion(promoted: moved.int ?? 0, nextDueInMilliseconds: due.count == limit ? 0 : nextDue)
        }
    }

    private func record(from reply: RedisValue) throws(TaskStoreError) -> TaskRecord? {
        guard let values = reply.array else { return nil }
        if values.isEmpty { return nil }
        guard let record = TaskRecord(flatFields: values.map { $0.string ?? "" }) else {
            throw TaskStoreError(.corrupt, "a task hash is missing fields")
        }
        return record
    }

    /// Runs `body` and, when the connection broke (a stale pooled connection after a Redis restart),
    /// once more on a fresh connection. Only for idempotent bodies.
    private func retryingOnce<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(TaskStoreError) -> T {
        do {
            return try pool.withConnection(body)
        } catch  where error.code == .io {
            pool.drain()
            do {
                return try pool.withConnection(body)
            } catch {
                throw TaskStoreError(error)
            }
        } catch {
            throw TaskStoreError(error)
        }
    }
}

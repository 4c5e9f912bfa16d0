import Synchronization
import TaskgateRedis

/// The list of queues an operator sees (``KeySpace/queues``): a sorted set of names, kept right without being
/// written by any queue script.
///
/// In a Redis Cluster each queue's keys live in the slot of its `{queue}` tag, and the registry in a slot of
/// its own, so no script can write both. Instead:
/// - **Registered before use.** The gateway (and the CLI's enqueue) add a queue before its first task in this
///   process is stored, and a worker adds each queue it serves when it starts. Only a registration that Redis
///   confirmed is remembered; one that failed is tried again with the queue's next task.
/// - **Repaired.** Every process that uses a queue adds it again once a minute (``repair()``, one `ZADD` for
///   all its queues: a gateway on its first task after the minute is up, a worker from its scheduler loop), so a registration lost anyway (a failover that dropped the write, a registry key
///   deleted by hand) is back within a minute while any gateway or worker uses the queue.
/// - **Stale entries are harmless.** An entry whose queue has no keys left reads as an empty queue: all depths
///   and counts zero. Nothing ever depends on the registry to find a task; it only lists queues.
///
/// Cost: a registration is one `ZADD` per queue per process (plus one a minute); reading is `ZRANGE BYLEX`.
public final class QueueRegistry: Sendable {
    private let pool: RedisConnectionPool
    private let keys: KeySpace
    private struct State {
        /// Queues this process uses, and whether Redis has confirmed their registration.
        var queues: [QueueName: Bool] = [:]
        var lastRepair = ContinuousClock.now
    }
    private let state = Mutex(State())
    /// How often ``use(_:)`` repairs.
    public static let repairInterval: Duration = .seconds(60)

    /// Creates a registry over a pool.
    public init(pool: RedisConnectionPool, keys: KeySpace) {
        self.pool = pool
        self.keys = keys
    }

    /// Registers `queue` unless this process has registered it already: at most one `ZADD` per queue (cheap to
    /// call before every enqueue). A failure is not thrown: the next call, or ``repair()``, tries again.
    public func use(_ queue: QueueName) {
        let now = ContinuousClock.now
        let (registered, repairDue) = state.withLock { state -> (Bool, Bool) in
            let due = now - state.lastRepair >= Self.repairInterval
            if due { state.lastRepair = now }
            if let registered = state.queues[queue] { return (registered, due) }
            state.queues[queue] = false
            return (false, due)
        }
        if repairDue {
            try? repair()
        } else if !registered, (try? add([queue])) != nil {
            state.withLock { $0.queues[queue] = true }
        }
    }

    /// Registers `queues` now and remembers them for ``repair()``; throws when Redis did not confirm.
    public func register(_ queues: [QueueName]) throws(TaskStoreError) {
        state.withLock { state in
            for queue in queues where state.queues[queue] == nil { state.queues[queue] = false }
        }
        try add(queues)
        state.withLock { state in
            for queue in queues { state.queues[queue] = true }
        }
    }

    /// Registers again every queue this process has used (one `ZADD`); call about once a minute.
    public func repair() throws(TaskStoreError) {
        let queues = state.withLock { state -> [QueueName] in
            state.lastRepair = .now
            return Array(state.queues.keys)
        }
        guard !queues.isEmpty else { return }
        try add(queues)
        state.withLock { state in
            for queue in queues { state.queues[queue] = true }
        }
    }

    /// Up to `limit` registered queue names after `cursor` (exclusive), in name order: `ZRANGE BYLEX`, O(log n +
    /// limit).
    public func names(after cursor: QueueName?, limit: Int) throws(TaskStoreError) -> [QueueName] {
        let start = cursor.map { "(" + $0.rawValue } ?? "-"
        let reply = try send(RedisCommand("ZRANGE", keys.queues, start, "+", "BYLEX", "LIMIT", 0, max(1, limit)))
        return (reply.array ?? []).compactMap { $0.string.flatMap(QueueName.init) }
    }

    /// Removes `queue` from the registry (its tasks are untouched; it comes back when used again).
    public func forget(_ queue: QueueName) throws(TaskStoreError) {
        _ = try send(RedisCommand("ZREM", keys.queues, queue.rawValue))
        state.withLock { $0.queues[queue] = nil }
    }

    private func add(_ queues: [QueueName]) throws(TaskStoreError) {
        guard !queues.isEmpty else { return }
        var arguments: [any RedisArgument] = [keys.queues]
        for queue in queues { arguments += [0, queue.rawValue] as [any RedisArgument] }
        _ = try send(RedisCommand("ZADD", arguments))
    }

    private func send(_ command: RedisCommand) throws(TaskStoreError) -> RedisValue {
        do {
            return try pool.withConnectionRetryingOnce { connection throws(RedisError) in try connection.send(command) }
        } catch {
            throw TaskStoreError(error)
        }
    }
}

import Synchronization
import TaskgateRedis

/// The list of queues an operator sees (``KeySpace/queues``): a sorted set of names, kept right without being
/// written by any queue script, and bounded.
///
/// In a Redis Cluster each queue's keys live in the slot of its `{queue}` tag, and the registry in a slot of
/// its own, so no script can write both. Instead:
/// - **Registered before use.** The gateway admits a queue before its first task in this process is stored
///   (``admit(_:)``), the CLI and the operator's changes register the queues they touch (``use(_:)``), and a
///   worker adds each queue it serves when it starts. Only a registration that Redis confirmed is remembered;
///   one that failed is tried again with the queue's next task.
/// - **Bounded.** ``admit(_:)`` adds a queue only while the registry holds fewer than ``maxQueues`` (one script:
///   `ZSCORE`, `ZCARD`, `ZADD`, so two gateways cannot both take the last place); a client's first task to a new
///   queue past it is refused (`409 too-many-queues`). The operator's paths and workers are not bounded: an
///   operator names the queues they register.
/// - **Repaired.** Every process adds the queues it used in the last ``forgetAfter`` again once a minute
///   (``repair()``, one `ZADD` for all: a gateway on its first task after the minute is up, a worker from its
///   scheduler loop), so a registration lost anyway (a failover that dropped the write, a registry key deleted
///   by hand, a prune that raced a new task) is back within a minute while any gateway or worker uses the queue.
///   A queue this process has not used for ``forgetAfter`` is forgotten here, so it is no longer repaired.
/// - **Pruned.** ``prune(_:)`` (the gateway, every ``pruneInterval``) removes queues that are empty and unused:
///   nothing pending, scheduled, retrying, active or dead, no operator setting, and no attempt in the last day
///   (their statistics). So queues a client made and abandoned free their places.
/// - **Stale entries are harmless.** An entry whose queue has no keys left reads as an empty queue: all depths
///   and counts zero. Nothing ever depends on the registry to find a task; it lists queues, and bounds them.
///
/// Cost: a registration is one script call per queue per process (plus one `ZADD` a minute); reading is
/// `ZRANGE BYLEX`; a prune reads what `GET /queues` reads, once per ``pruneInterval``.
public final class QueueRegistry: Sendable {
    private let pool: RedisConnectionPool
    private let keys: KeySpace
    /// The most queues ``admit(_:)`` lets the registry hold; 0 for no bound.
    public let maxQueues: Int
    private struct Entry {
        /// Whether Redis has confirmed the registration.
        var confirmed: Bool
        /// When this process last used the queue.
        var lastUsed: ContinuousClock.Instant
    }
    private struct State {
        /// Queues this process uses.
        var queues: [QueueName: Entry] = [:]
        var lastRepair = ContinuousClock.now
        /// Queues others registered, found by ``isRegistered(_:)``, and when: believed for ``knownFor``.
        var known: [QueueName: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    /// How often ``use(_:)`` and ``admit(_:)`` repair.
    public static let repairInterval: Duration = .seconds(60)
    /// How long a queue this process does not use is still repaired by it.
    public static let forgetAfter: Duration = .seconds(86_400)
    /// How often the gateway prunes.
    public static let pruneInterval: Duration = .seconds(600)
    /// The default of ``maxQueues`` (`--max-queues`).
    public static let defaultMaxQueues = 1_000

    /// Creates a registry over a pool; ``admit(_:)`` keeps it to `maxQueues` queues (0: no bound).
    public init(pool: RedisConnectionPool, keys: KeySpace, maxQueues: Int = QueueRegistry.defaultMaxQueues) {
        self.pool = pool
        self.keys = keys
        self.maxQueues = max(0, maxQueues)
    }

    /// What ``admit(_:)`` decided.
    public enum Admission: Sendable, Equatable {
        /// The queue is registered (or Redis could not be asked: the task goes on, and the next one asks again).
        case admitted
        /// The registry holds ``maxQueues`` queues and this is not one of them.
        case full(limit: Int)
    }

    /// Admits `queue` for a client's task: at once when this process registered it already (no round trip),
    /// else one script adds it unless the registry is full. A Redis failure admits (the store's own call will
    /// answer for Redis), and the next task asks again.
    public func admit(_ queue: QueueName) -> Admission {
        guard touch(queue) == false else { return .admitted }
        let added: Bool
        let (registry, limit) = (keys.queues, maxQueues)
        do throws(RedisError) {
            added =
                try pool.withConnectionRetryingOnce { connection throws(RedisError) in
                    try TaskScripts.admitQueue.run(
                        on: connection, keys: [registry], arguments: [queue.rawValue, limit])
                }.int == 1
        } catch {
            return .admitted
        }
        guard added else {
            state.withLock { $0.queues[queue] = nil }
            return .full(limit: maxQueues)
        }
        state.withLock { $0.queues[queue]?.confirmed = true }
        return .admitted
    }

    /// Registers `queue` unless this process has registered it already, with no bound (the operator's paths):
    /// at most one `ZADD` per queue. A failure is not thrown: the next call, or ``repair()``, tries again.
    public func use(_ queue: QueueName) {
        guard touch(queue) == false else { return }
        if (try? add([queue])) != nil {
            state.withLock { $0.queues[queue]?.confirmed = true }
        }
    }

    /// Notes a use of `queue`, repairing first when a minute has passed: `true` when its registration is
    /// confirmed already, `false` when it must be registered (it is then remembered unconfirmed).
    private func touch(_ queue: QueueName) -> Bool {
        let now = ContinuousClock.now
        let (confirmed, repairDue) = state.withLock { state -> (Bool, Bool) in
            let due = now - state.lastRepair >= Self.repairInterval
            if due { state.lastRepair = now }
            // One hash of the name per use (this runs for every POST): the index serves the read and the write.
            if let index = state.queues.index(forKey: queue) {
                state.queues.values[index].lastUsed = now
                return (state.queues.values[index].confirmed, due)
            }
            state.queues[queue] = Entry(confirmed: false, lastUsed: now)
            return (false, due)
        }
        if repairDue { try? repair() }
        return confirmed
    }

    /// Registers `queues` now and remembers them for ``repair()``, with no bound (a worker's own queues); throws
    /// when Redis did not confirm.
    public func register(_ queues: [QueueName]) throws(TaskStoreError) {
        let now = ContinuousClock.now
        state.withLock { state in
            for queue in queues {
                state.queues[queue, default: Entry(confirmed: false, lastUsed: now)].lastUsed = now
            }
        }
        try add(queues)
        state.withLock { state in
            for queue in queues { state.queues[queue]?.confirmed = true }
        }
    }

    /// Registers again every queue this process used in the last ``forgetAfter`` (one `ZADD`), and forgets the
    /// others; call about once a minute.
    public func repair() throws(TaskStoreError) {
        let now = ContinuousClock.now
        let queues = state.withLock { state -> [QueueName] in
            state.lastRepair = now
            state.queues = state.queues.filter { now - $0.value.lastUsed < Self.forgetAfter }
            return Array(state.queues.keys)
        }
        guard !queues.isEmpty else { return }
        try add(queues)
        state.withLock { state in
            for queue in queues { state.queues[queue]?.confirmed = true }
        }
    }

    /// The queues of `queues` that are not registered, in order: those this process knows cost nothing, the rest
    /// one `ZMSCORE` for all. A Redis failure answers none (the caller's own call will answer for Redis).
    public func unregistered(_ queues: [QueueName]) -> [QueueName] {
        let now = ContinuousClock.now
        let unknown = state.withLock { state in
            queues.filter { queue in
                if state.queues[queue]?.confirmed == true { return false }
                if let found = state.known[queue], now - found < Self.knownFor { return false }
                return true
            }
        }
        guard !unknown.isEmpty else { return [] }
        let reply: RedisValue
        do throws(TaskStoreError) {
            let arguments: [any RedisArgument] = [keys.queues] + unknown.map(\.rawValue)
            reply = try send(RedisCommand("ZMSCORE", arguments))
        } catch {
            return []
        }
        let scores = reply.array ?? []
        var missing: [QueueName] = []
        var found: [QueueName] = []
        for (index, queue) in unknown.enumerated() {
            if index < scores.count, case .null = scores[index] { missing.append(queue) } else { found.append(queue) }
        }
        let bound = maxQueues > 0 ? maxQueues : Self.defaultMaxQueues
        state.withLock { state in
            if state.known.count + found.count > bound {
                state.known = state.known.filter { now - $0.value < Self.knownFor }
            }
            for queue in found where state.known.count < bound { state.known[queue] = now }
        }
        return missing
    }

    /// `true` when `queue` is registered (``unregistered(_:)`` for one).
    public func isRegistered(_ queue: QueueName) -> Bool {
        unregistered([queue]).isEmpty
    }

    /// How long ``unregistered(_:)`` believes a registration it read.
    public static let knownFor: Duration = .seconds(60)

    /// How many queues the registry holds: `ZCARD`, O(1).
    public func count() throws(TaskStoreError) -> Int {
        try send(RedisCommand("ZCARD", keys.queues)).int ?? 0
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
        state.withLock { state in
            state.queues[queue] = nil
            state.known[queue] = nil
        }
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

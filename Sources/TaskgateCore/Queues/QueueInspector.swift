import TaskgateRedis

/// The operator's read side over queues: the figures of ``QueueSummary``, for the HTTP API and the CLI alike.
///
/// Apart from the hot-path ``TaskStore`` on purpose: nothing here runs on a claim or an enqueue. Every figure is
/// read in O(1) or O(log n) per queue, never by looking at tasks: per queue one pipelined round of `LLEN` (2),
/// `ZCARD` (4), `HGETALL` of the control hash (at most 6 fields) and of the stats hash (at most 354), `LINDEX`
/// of the pending list's head, then one `HMGET` of that task's times. Two round trips per call, whatever the
/// number of queues or tasks.
public struct QueueInspector: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// The queues to list.
    public let registry: QueueRegistry

    /// Creates an inspector.
    public init(pool: RedisConnectionPool, keys: KeySpace, registry: QueueRegistry) {
        self.pool = pool
        self.keys = keys
        self.registry = registry
    }

    /// The most queues one page lists.
    public static let maxPage = 1_000

    /// Registered queues after `cursor`, in name order, at most `limit`, with the cursor of the next page (`nil`
    /// on the last).
    public func summaries(
        after cursor: QueueName?, limit: Int
    ) throws(TaskStoreError) -> (queues: [QueueSummary], next: QueueName?) {
        let count = min(max(1, limit), Self.maxPage)
        let names = try registry.names(after: cursor, limit: count + 1)
        let page = Array(names.prefix(count))
        let next = names.count > count ? page.last : nil
        return (try summaries(of: page), next)
    }

    /// One queue's summary (a queue that was never used reads as empty).
    public func summary(of queue: QueueName) throws(TaskStoreError) -> QueueSummary {
        guard let summary = try summaries(of: [queue]).first else {
            throw TaskStoreError(.corrupt, "no summary read for \(queue)")
        }
        return summary
    }

    /// The summaries of `queues`, in their order: two pipelined rounds in all.
    public func summaries(of queues: [QueueName]) throws(TaskStoreError) -> [QueueSummary] {
        let perQueue = 9
        var commands = [RedisCommand("TIME")]
        commands.reserveCapacity(1 + perQueue * queues.count)
        for queue in queues {
            commands += [
                RedisCommand("LLEN", keys.pending(queue)), RedisCommand("LLEN", keys.active(queue)),
                RedisCommand("ZCARD", keys.scheduled(queue)), RedisCommand("ZCARD", keys.retrying(queue)),
                RedisCommand("ZCARD", keys.leases(queue)), RedisCommand("ZCARD", keys.dead(queue)),
                RedisCommand("HGETALL", keys.control(queue)), RedisCommand("HGETALL", keys.stats(queue)),
                RedisCommand("LINDEX", keys.pending(queue), -1),
            ]
        }
        let replies = try run(commands)
        guard let time = replies.first?.array, time.count == 2, let seconds = time[0].int, let micros = time[1].int
        else {
            throw TaskStoreError(.corrupt, "unexpected TIME reply")
        }
        let now = seconds * 1000 + micros / 1000
        var summaries: [QueueSummary] = []
        var heads: [(index: Int, id: TaskID)] = []
        for (index, queue) in queues.enumerated() {
            let r = Array(replies[(1 + perQueue * index)..<(1 + perQueue * (index + 1))])
            let control = Self.fields(r[6])
            summaries.append(
                QueueSummary(
                    queue: queue,
                    depths: QueueDepths(
                        pending: r[0].int ?? 0, scheduled: r[2].int ?? 0, retrying: r[3].int ?? 0,
                        active: (r[4].int ?? 0) + (r[1].int ?? 0), dead: r[5].int ?? 0),
                    pausedAt: control["paused"].flatMap(Int.init).map(Timestamp.init(milliseconds:)),
                    limits: QueueLimits(control: control), oldestPendingAgeMilliseconds: nil,
                    statistics: QueueStatistics(fields: Self.fields(r[7]), now: now),
                    readAt: Timestamp(milliseconds: now)))
            if let head = r[8].string.flatMap(TaskID.init) { heads.append((index, head)) }
        }
        guard !heads.isEmpty else { return summaries }
        let times = try run(heads.map { RedisCommand("HMGET", keys.task($0.id), "created_at", "updated_at") })
        for (head, reply) in zip(heads, times) {
            let values = reply.array ?? []
            // Pending since its last change (a retry or recovery puts it back), else since it was created.
            let since = values.count == 2 ? (values[1].string ?? values[0].string).flatMap(Int.init) : nil
            summaries[head.index].oldestPendingAgeMilliseconds = since.map { max(0, now - $0) }
        }
        return summaries
    }

    /// A hash reply's fields by name.
    static func fields(_ reply: RedisValue) -> [String: String] {
        let values = reply.array ?? []
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < values.count {
            if let name = values[index].string, let value = values[index + 1].string { fields[name] = value }
            index += 2
        }
        return fields
    }

    func run(_ commands: [RedisCommand]) throws(TaskStoreError) -> [RedisValue] {
        try pool.round(commands)
    }
}

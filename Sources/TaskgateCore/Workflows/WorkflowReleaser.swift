import TaskgateRedis

/// Tells children and batches how their parents and members stand: the second half of every cross-slot step
/// of a workflow. Workers run it for their queues, the gateway for the queues its pull API serves, and the
/// operator's seam after each change it makes; any number may run at once.
///
/// The protocol, for a Redis Cluster where a child, its parents and its batch live on different masters:
/// 1. A task with children or a batch (`kids`, `batch`) that enters a final state, leaves one (requeued) or is
///    deleted goes on its queue's outbox (`released`) in the same script that changed it, and its record is
///    kept (no expiry) while it is there.
/// 2. A drain claims due outbox entries (each held for ``leaseMilliseconds``: a drainer killed mid-way leaves
///    them to come due again) and reads each task's state, result and children.
/// 3. It tells every child, per child queue in one script on the child's slot (``WorkflowScripts/release``):
///    the child records the parent's state beside its own, so the same news twice changes nothing, and the
///    change that leaves nothing to wait for releases it. That change happens once, in one script: exactly
///    once however many drainers tell it at once, and across a SIGKILL at any point.
/// 4. It counts the task in its batch, on `{batches}` (``BatchScripts/record``), the same way.
/// 5. It ends the entries still held as claimed (a change since put them back due, to be told again) and
///    starts the records' retention.
/// A child cancelled or revived in step 3 is on its own queue's outbox: the same pass drains that queue next,
/// so a cascade goes down the whole graph whether or not a worker serves each queue.
public struct WorkflowReleaser: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// How long final records are kept once drained.
    public let retentionMilliseconds: Int
    /// How long an early release waits for its child and a revived child waits again.
    public let workflowRetentionMilliseconds: Int
    /// How long a drain holds the entries it claimed.
    public let leaseMilliseconds: Int
    /// The most children one release script tells.
    static let releaseChunk = 500

    /// Creates a releaser.
    public init(
        pool: RedisConnectionPool, keys: KeySpace, retentionMilliseconds: Int,
        workflowRetentionMilliseconds: Int = WorkflowLimits.defaultRetentionMilliseconds,
        leaseMilliseconds: Int = 30_000
    ) {
        self.pool = pool
        self.keys = keys
        self.retentionMilliseconds = retentionMilliseconds
        self.workflowRetentionMilliseconds = workflowRetentionMilliseconds
        self.leaseMilliseconds = leaseMilliseconds
    }

    /// What one pass did.
    public struct Pass: Sendable, Equatable {
        /// Outbox entries drained (tasks and batches).
        public var drained = 0
        /// Children released to run.
        public var released = 0
        /// Children cancelled (a parent failed, or they waited past their expiry).
        public var cancelled = 0
        /// Batches completed.
        public var completed = 0
    }

    /// Drains `queues`' outboxes, the batches' outbox, and every queue a cascade reaches on the way; cancels
    /// waiting tasks past their expiry on `queues`. Blocks the calling thread.
    ///
    /// Cost: per queue one claim script and, for each entry, one release script per child queue, one batch
    /// count, one finish; nothing but an empty `ZRANGEBYSCORE` when the outbox is empty.
    public func pass(_ queues: [QueueName]) throws(TaskStoreError) -> Pass {
        var pass = Pass()
        for queue in queues { pass.cancelled += try expireWaiting(queue) }
        // Rounds until nothing is left to tell (bounded: a pass ends, the next one goes on).
        var work = Set(queues)
        for _ in 0..<64 {
            var next = Set<QueueName>()
            for queue in work { next.formUnion(try drain(queue, into: &pass)) }
            let batches = try drainBatches(into: &pass)
            next.formUnion(batches.filled)
            guard !next.isEmpty || batches.full else { break }
            work = next
        }
        return pass
    }

    /// Cancels up to 100 waiting tasks of `queue` past their expiry.
    func expireWaiting(_ queue: QueueName) throws(TaskStoreError) -> Int {
        let reply = try pool.run(
            WorkflowScripts.expireWaiting, keys: [keys.waiting(queue), keys.callbacks(queue), keys.released(queue)],
            arguments: [
                keys.events(queue), max(1, retentionMilliseconds), 100, keys.taskPrefix(queue), queue.rawValue + ".",
            ])
        return reply.int ?? 0
    }

    /// One claim of `queue`'s outbox, told to children and batches; returns the queues whose outboxes that
    /// filled (children cancelled or revived), `queue` among them when the claim was full.
    private func drain(_ queue: QueueName, into pass: inout Pass) throws(TaskStoreError) -> [QueueName] {
        let reply = try pool.run(
            WorkflowScripts.claimReleased, keys: [keys.released(queue)],
            arguments: [
                max(1, leaseMilliseconds), WorkflowScripts.claimBatch, keys.taskPrefix(queue), queue.rawValue + ".",
                keys.tombstonePrefix(queue), keys.childrenPrefix(queue),
            ])
        let entries = (reply.array ?? []).compactMap { entry -> [String]? in
            guard let parts = entry.array, parts.count >= 6 else { return nil }
            return parts.map { $0.string ?? "" }
        }
        guard !entries.isEmpty else { return [] }
        var notices: [Notice] = []
        var counts: [(batch: String, task: String, state: String)] = []
        for entry in entries {
            let state = Self.told(entry[2])
            for child in entry[6...] {
                notices.append(Notice(child: child, parent: entry[0], state: state, result: entry[3], error: entry[4]))
            }
            if !entry[5].isEmpty { counts.append((entry[5], entry[0], entry[2])) }
        }
        var filled = try tell(notices, into: &pass)
        if entries.count >= WorkflowScripts.claimBatch { filled.append(queue) }
        try count(counts, into: &pass)
        var arguments: [any RedisArgument] = [
            max(1, retentionMilliseconds), keys.taskPrefix(queue), queue.rawValue + ".", keys.tombstonePrefix(queue),
            keys.childrenPrefix(queue),
        ]
        for entry in entries { arguments += [entry[0], entry[1]] as [any RedisArgument] }
        _ = try pool.run(WorkflowScripts.finishReleased, keys: [keys.released(queue)], arguments: arguments)
        pass.drained += entries.count
        return filled
    }

    /// One claim of the batches' outbox (complete batches with children), told to their children.
    private func drainBatches(into pass: inout Pass) throws(TaskStoreError) -> (filled: [QueueName], full: Bool) {
        let reply = try pool.run(
            BatchScripts.claimReleased, keys: [keys.batchesReleased],
            arguments: [
                max(1, leaseMilliseconds), WorkflowScripts.claimBatch, keys.batchPrefix, keys.batchChildrenPrefix,
            ])
        let entries = (reply.array ?? []).compactMap { entry -> [String]? in
            guard let parts = entry.array, parts.count >= 4 else { return nil }
            return parts.map { $0.string ?? "" }
        }
        guard !entries.isEmpty else { return ([], false) }
        var notices: [Notice] = []
        for entry in entries {
            let error = entry[2] == "succeeded" ? "" : "a task of batch \(entry[0]) did not succeed"
            for child in entry[4...] {
                notices.append(
                    Notice(child: child, parent: "batch:" + entry[0], state: entry[2], result: entry[3], error: error))
            }
        }
        let filled = try tell(notices, into: &pass)
        var arguments: [any RedisArgument] = []
        for entry in entries { arguments += [entry[0], entry[1]] as [any RedisArgument] }
        _ = try pool.run(BatchScripts.finishReleased, keys: [keys.batchesReleased], arguments: arguments)
        pass.drained += entries.count
        return (filled, entries.count >= WorkflowScripts.claimBatch)
    }

    /// What a child is told of one parent.
    private struct Notice {
        var child: String
        var parent: String
        var state: String
        var result: String
        var error: String
    }

    /// A state as children hear it: final states as they are, any other (a requeued parent) as `waiting`.
    private static func told(_ state: String) -> String {
        state == "succeeded" || state == "dead" || state == "cancelled" ? state : "waiting"
    }

    /// Tells children, one release script per child queue (in chunks); returns the queues of children
    /// cancelled or revived, whose outboxes now hold them.
    private func tell(_ notices: [Notice], into pass: inout Pass) throws(TaskStoreError) -> [QueueName] {
        var byQueue: [QueueName: [(TaskID, Notice)]] = [:]
        for notice in notices {
            guard let id = TaskID(notice.child) else { continue }
            byQueue[id.queue, default: []].append((id, notice))
        }
        var filled: [QueueName] = []
        for (queue, group) in byQueue {
            var start = 0
            while start < group.count {
                let chunk = group[start..<min(group.count, start + Self.releaseChunk)]
                start += Self.releaseChunk
                var callKeys = [
                    keys.pending(queue), keys.scheduled(queue), keys.waiting(queue), keys.callbacks(queue),
                    keys.released(queue),
                ]
                var arguments: [any RedisArgument] = [
                    keys.events(queue), max(1, retentionMilliseconds), max(1, workflowRetentionMilliseconds),
                ]
                for (id, notice) in chunk {
                    callKeys += [keys.task(id), keys.earlyReleases(id)]
                    arguments +=
                        [notice.child, notice.parent, notice.state, notice.result, notice.error]
                        as [any RedisArgument]
                }
                let reply = try pool.run(WorkflowScripts.release, keys: callKeys, arguments: arguments)
                for outcome in reply.array ?? [] {
                    switch outcome.string {
                    case "released": pass.released += 1
                    case "cancelled":
                        pass.cancelled += 1
                        filled.append(queue)
                    case "revived": filled.append(queue)
                    default: break
                    }
                }
            }
        }
        return filled
    }

    /// Counts tasks in their batches, in chunks of 500 per script.
    private func count(_ counts: [(batch: String, task: String, state: String)], into pass: inout Pass)
        throws(TaskStoreError)
    {
        var start = 0
        while start < counts.count {
            let chunk = counts[start..<min(counts.count, start + Self.releaseChunk)]
            start += Self.releaseChunk
            var callKeys = [keys.batchCallbacks, keys.batchesReleased]
            var arguments: [any RedisArgument] = [keys.batchEvents]
            for entry in chunk {
                callKeys += [keys.batch(entry.batch), keys.batchMembers(entry.batch)]
                arguments += [entry.batch, entry.task, entry.state] as [any RedisArgument]
            }
            let reply = try pool.run(BatchScripts.record, keys: callKeys, arguments: arguments)
            pass.completed += (reply.array ?? []).filter { $0.string == "completed" }.count
        }
    }
}

import TaskgateRedis

/// Why a workflow request stored nothing, or stopped part way.
public enum WorkflowStoreError: Error, Sendable {
    /// A parent is not there (a task id unknown or expired, a batch unknown); nothing was stored.
    case invalid(TaskValidationError)
    /// Redis failed. Before the tasks' step nothing was stored; during it, the tasks of queues already written
    /// stand (a waiting one whose parents are not stored waits until it expires).
    case store(TaskStoreError)
}

extension RedisTaskStore {
    /// Stores a workflow request: the tasks of `submissions` with their parents as `graph` resolved them, and
    /// a batch around them when `batch` is given. Answers the records stored (in the request's order) and the
    /// batch's id. `retentionMilliseconds` is how long the record of a task cancelled at once (a parent failed
    /// already) is kept; `workflowRetentionMilliseconds` how long a waiting task waits and the batch lives.
    ///
    /// Three steps, each safe to repeat: (1) every parent outside the request is read, and a missing one
    /// refuses the whole request with nothing stored; (2) the batch is created, then each outside parent (per
    /// queue, one link script) and each parent batch records its new children, so whichever way it ends it
    /// finds them; (3) each queue's tasks are stored in one store script (``WorkflowScripts/store``), parents in
    /// the request recording their children in the same step. A parent that ends before its child is stored
    /// leaves the child an early release, which the store reads: no order between queues is needed.
    ///
    /// Cost: one read round of the outside parents, one script per parent queue and per queue stored, one for
    /// the batch; O(edges) in all.
    public func storeWorkflow(
        _ submissions: [TaskSubmission], graph: TaskGraph, batch: BatchSpec?,
        retentionMilliseconds: Int, workflowRetentionMilliseconds: Int
    ) throws(WorkflowStoreError) -> (records: [TaskRecord], batch: String?) {
        let ids = submissions.map { TaskID.generate(queue: $0.queue) }
        let parents: [[String]] = graph.parents.map { list in
            list.map { parent in
                switch parent {
                case .task(let id): return id.rawValue
                case .sibling(let position): return ids[position].rawValue
                case .batch(let id): return "batch:" + id
                }
            }
        }
        // (1) Outside parents must exist, each named once.
        var outside: [TaskID: [(child: Int, slot: Int)]] = [:]
        var parentBatches: [String: [(child: Int, slot: Int)]] = [:]
        for (child, list) in graph.parents.enumerated() {
            for (slot, parent) in list.enumerated() {
                switch parent {
                case .task(let id): outside[id, default: []].append((child, slot))
                case .batch(let id): parentBatches[id, default: []].append((child, slot))
                case .sibling: break
                }
            }
        }
        let outsideIDs = Array(outside.keys)
        let batchIDs = Array(parentBatches.keys)
        let commands =
            outsideIDs.map { RedisCommand("EXISTS", keys.task($0)) }
            + batchIDs.map { RedisCommand("EXISTS", keys.batch($0)) }
        if !commands.isEmpty {
            let replies: [RedisValue]
            do throws(TaskStoreError) {
                replies = try pool.round(commands)
            } catch {
                throw .store(error)
            }
            // The first missing parent in the request's order is the one named.
            let missing = replies.indices.filter { replies[$0].int != 1 }.map { index in
                let isTask = index < outsideIDs.count
                let place =
                    isTask ? outside[outsideIDs[index]]![0] : parentBatches[batchIDs[index - outsideIDs.count]]![0]
                return (index: index, place: place)
            }
            if let first = missing.min(by: { ($0.place.child, $0.place.slot) < ($1.place.child, $1.place.slot) }) {
                let index = first.index
                let isTask = index < outsideIDs.count
                let name = isTask ? outsideIDs[index].rawValue : "batch:" + batchIDs[index - outsideIDs.count]
                let place = first.place
                throw WorkflowStoreError.invalid(
                    TaskValidationError(
                        .invalidField, field: Self.place(place, count: submissions.count),
                        isTask
                            ? "no task \(name) (unknown, or its record expired)" : "no \(name) (unknown or expired)"
                    ))
            }
        }
        do throws(TaskStoreError) {
            let clock = try pool.redisTime()
            let expiresAt = clock + max(1, workflowRetentionMilliseconds)
            // (2) The batch first, then every outside parent learns its children.
            var batchID: String?
            if let batch {
                let id = TaskID.generate(queue: .default).token
                _ = try pool.run(
                    BatchScripts.create, keys: [keys.batch(id), keys.batchExpiry],
                    arguments: [
                        id, submissions.count, batch.metadata?.serialized ?? "", batch.callbackURL ?? "", expiresAt,
                    ])
                batchID = id
            }
            var byParentQueue: [QueueName: [TaskID]] = [:]
            for id in outsideIDs { byParentQueue[id.queue, default: []].append(id) }
            for (queue, group) in byParentQueue {
                var callKeys = [keys.released(queue)]
                var arguments: [any RedisArgument] = []
                for parent in group {
                    let children = outside[parent]!.map { ids[$0.child].rawValue }
                    callKeys += [keys.task(parent), keys.children(parent)]
                    arguments += [parent.rawValue, children.count] as [any RedisArgument]
                    arguments += children as [any RedisArgument]
                }
                _ = try pool.run(WorkflowScripts.link, keys: callKeys, arguments: arguments)
            }
            if !batchIDs.isEmpty {
                var callKeys = [keys.batchesReleased]
                var arguments: [any RedisArgument] = []
                for id in batchIDs {
                    let children = parentBatches[id]!.map { ids[$0.child].rawValue }
                    callKeys += [keys.batch(id), keys.batchChildren(id)]
                    arguments += [id, children.count] as [any RedisArgument]
                    arguments += children as [any RedisArgument]
                }
                _ = try pool.run(BatchScripts.link, keys: callKeys, arguments: arguments)
            }
            // (3) Each queue's tasks in one script, in the request's order.
            var byQueue: [QueueName: [Int]] = [:]
            var queues: [QueueName] = []
            for (index, id) in ids.enumerated() {
                if byQueue[id.queue] == nil { queues.append(id.queue) }
                byQueue[id.queue, default: []].append(index)
            }
            var stored: [TaskRecord?] = Array(repeating: nil, count: submissions.count)
            for queue in queues {
                let group = byQueue[queue]!
                var callKeys = [
                    keys.pending(queue), keys.scheduled(queue), keys.waiting(queue), keys.callbacks(queue),
                    keys.released(queue),
                ]
                var arguments: [any RedisArgument] = [keys.events(queue), max(1, retentionMilliseconds)]
                for index in group {
                    let submission = submissions[index]
                    let id = ids[index]
                    let children = graph.children[index].map { ids[$0].rawValue }
                    callKeys += [keys.task(id), keys.earlyReleases(id), keys.children(id)]
                    let after =
                        parents[index].isEmpty ? "" : JSONValue.array(parents[index].map { .string($0) }).serialized
                    arguments +=
                        [
                            id.rawValue, submission.type ?? "", submission.payload.serialized, submission.maxRetries,
                            submission.timeoutMilliseconds.map(String.init) ?? "", submission.delayMilliseconds,
                            submission.callbackURL ?? "", batchID ?? "", submission.onParentFailure.rawValue, after,
                            expiresAt, parents[index].count, children.count,
                        ] as [any RedisArgument]
                    arguments += parents[index] as [any RedisArgument]
                    arguments += children as [any RedisArgument]
                }
                let reply = try retryingOnce { connection throws(RedisError) in
                    try runReplicated(WorkflowScripts.store, on: connection, keys: callKeys, arguments: arguments)
                }
                guard let outcomes = reply.array, outcomes.count == group.count else {
                    throw TaskStoreError(.corrupt, "unexpected workflow store reply \(reply)")
                }
                for index in group {
                    var record = TaskRecord(
                        id: ids[index], submission: submissions[index],
                        payload: submissions[index].payload.serialized, storedAt: Timestamp(milliseconds: clock))
                    record.after = parents[index]
                    record.onParentFailure = submissions[index].onParentFailure
                    record.batch = batchID
                    record.hasChildren = !graph.children[index].isEmpty
                    if !parents[index].isEmpty {
                        record.state = .waiting
                        record.waitingFor = parents[index].count
                        record.expiresAt = Timestamp(milliseconds: expiresAt)
                        record.runAt = record.createdAt
                    }
                    stored[index] = record
                }
            }
            // The records as the request left them; one decided at once (a parent released early) may have moved on.
            return (stored.map { $0! }, batchID)
        } catch {
            throw .store(error)
        }
    }

    /// `record` with its parents' outcomes as released to it (``TaskRecord/parents``): the record itself
    /// when it has no `after`, else one `HGETALL` of its hash (on its own slot: the results were copied there
    /// when each parent was released, so a parent's record expiring takes nothing away).
    public func parents(of record: TaskRecord) throws(TaskStoreError) -> TaskRecord {
        guard !record.after.isEmpty else { return record }
        let reply = try pool.round([RedisCommand("HGETALL", keys.task(record.id))])[0]
        guard let full = TaskRecord(flatFields: (reply.array ?? []).map { $0.string ?? "" }) else { return record }
        var enriched = record
        enriched.parents = full.parents
        return enriched
    }

    /// The most children a task's record shows (``TaskRecord/children``); ``TaskRecord/childCount`` counts all.
    public static let shownChildren = 100

    /// `record` with its children (``TaskRecord/children``, at most ``shownChildren`` of them, sorted, and their
    /// count): the record itself when it has none. Cost: `SCARD` and `SRANDMEMBER` of up to 100, one round trip.
    public func children(of record: TaskRecord) throws(TaskStoreError) -> TaskRecord {
        guard record.hasChildren else { return record }
        let key = keys.children(record.id)
        let replies = try pool.round([
            RedisCommand("SCARD", key), RedisCommand("SRANDMEMBER", key, String(Self.shownChildren)),
        ])
        var enriched = record
        enriched.childCount = replies[0].int ?? 0
        enriched.children = (replies[1].array ?? []).compactMap(\.string).sorted()
        return enriched
    }

    /// The batch `id`, or `nil` when there is none (unknown, or expired). Cost: one `HGETALL` of its hash.
    public func batch(_ id: String) throws(TaskStoreError) -> BatchRecord? {
        guard BatchRecord.isValidID(id) else { return nil }
        let reply = try pool.round([RedisCommand("HGETALL", keys.batch(id))])[0]
        let fields = (reply.array ?? []).map { $0.string ?? "" }
        return fields.isEmpty ? nil : BatchRecord(flatFields: fields)
    }

    private static func place(_ place: (child: Int, slot: Int), count: Int) -> String {
        count == 1 ? "/after/\(place.slot)" : "/tasks/\(place.child)/after/\(place.slot)"
    }
}

import TaskgateRedis

extension RedisTaskStore {
    public func claim(
        from queue: QueueName, blockMilliseconds: Int, leaseMilliseconds: Int
    ) throws(TaskStoreError) -> ClaimedTask? {
        let pending = keys.pending(queue)
        let active = keys.active(queue)
        let leases = keys.leases(queue)
        let unleased = keys.unleased(queue)
        // First without blocking, in one atomic step (the common case under load).
        if let first = try claimBatch(from: queue, max: 1, leaseMilliseconds: leaseMilliseconds).first {
            return first
        }
        // Nothing pending: wait for the next task without polling.
        let timeout = String(Double(blockMilliseconds) / 1000)
        // A hold comes back as a value: the connection's closure may throw Redis errors only.
        let started: Result<ClaimedTask?, TaskStoreError>
        do {
            started = try pool.withConnection { connection throws(RedisError) -> Result<ClaimedTask?, TaskStoreError> in
                let moved = try connection.sendBlocking(
                    RedisCommand("BLMOVE", pending, active, "RIGHT", "LEFT", timeout),
                    blockMilliseconds: blockMilliseconds)
                guard let rawID = moved.string else { return .success(nil) }
                guard let id = TaskID(rawID), id.queue == queue else {
                    // Not ours: take it off the active list so it cannot clog it.
                    _ = try connection.send(RedisCommand("LREM", active, 1, rawID))
                    return .success(nil)
                }
                // A crash between the move above and this step leaves the id in the active list without a
                // lease; recovery passes put such ids back (Redis cannot block inside a script).
                let lease = Lease.fresh(for: id)
                let reply = try TaskScripts.start.run(
                    on: connection, keys: [keys.task(id), active, leases, unleased, pending, keys.control(queue)],
                    arguments: [id.rawValue, lease.token, max(1, leaseMilliseconds), keys.events(queue)])
                if let hold = Self.hold(reply, queue: queue) { return .failure(hold) }
                guard let record = try? record(from: reply) else { return .success(nil) }
                return .success(ClaimedTask(record: record, lease: lease))
            }
        } catch {
            throw TaskStoreError(error)
        }
        return try started.get()
    }

    public func claimBatch(
        from queue: QueueName, max count: Int, leaseMilliseconds: Int
    ) throws(TaskStoreError) -> [ClaimedTask] {
        let tokens = (0..<Swift.max(1, count)).map { _ in Lease.freshToken() }
        let reply = try runScript(
            TaskScripts.claim,
            keys: [
                keys.pending(queue), keys.active(queue), keys.leases(queue), keys.unleased(queue), keys.dead(queue),
                keys.control(queue),
            ],
            arguments: [
                Swift.max(1, leaseMilliseconds), queue.rawValue + ".", keys.taskPrefix(queue), keys.events(queue),
            ] + tokens)
        if let hold = Self.hold(reply, queue: queue) { throw hold }
        guard let replies = reply.array else { throw TaskStoreError(.corrupt, "unexpected claim reply \(reply)") }
        var claimed: [ClaimedTask] = []
        claimed.reserveCapacity(replies.count)
        for (token, reply) in zip(tokens, replies) {
            guard let values = reply.array, values.count == TaskScripts.claimReplyFields.count else {
                throw TaskStoreError(.corrupt, "unexpected claim reply \(reply)")
            }
            var fields = ["state", TaskState.active.rawValue]
            fields.reserveCapacity(4 + 2 * values.count)
            for (name, value) in zip(TaskScripts.claimReplyFields, values) {
                guard let text = value.string, !text.isEmpty else { continue }
                fields += [name, text]
            }
            // The claim is the record's last change.
            if let started = values[2].string { fields += ["updated_at", started] }
            guard let record = TaskRecord(flatFields: fields) else {
                throw TaskStoreError(.corrupt, "a claimed task's hash is missing fields")
            }
            claimed.append(ClaimedTask(record: record, lease: Lease(id: record.id, token: token)))
        }
        return claimed
    }

    /// The error a claim or start script's `{'held', why, retry_ms}` reply stands for; `nil` for any other reply.
    static func hold(_ reply: RedisValue, queue: QueueName) -> TaskStoreError? {
        guard let values = reply.array, values.count == 3, values[0].string == "held", let why = values[1].string
        else { return nil }
        let retry = values[2].int.flatMap { $0 >= 0 ? $0 : nil }
        switch why {
        case "paused": return TaskStoreError(.paused, "queue \(queue) is paused")
        case "max_active":
            return TaskStoreError(.maxActive, "queue \(queue) runs as many tasks as its max_active allows")
        default:
            return TaskStoreError(
                .rateLimited, "queue \(queue) is at its rate limit", retryAfterMilliseconds: retry)
        }
    }
}

import TaskgateRedis

extension RedisTaskStore {
    public func recover(
        in queue: QueueName, limit: Int, unleasedGraceMilliseconds: Int, retentionMilliseconds: Int
    ) throws(TaskStoreError) -> Recovery {
        let leases = keys.leases(queue)
        let active = keys.active(queue)
        let count = max(1, limit)
        return try retryingOnce { connection throws(RedisError) -> Recovery in
            let replies = try connection.pipeline([
                RedisCommand("TIME"), RedisCommand("ZRANGE", leases, 0, count - 1, "WITHSCORES"),
                RedisCommand("LRANGE", active, -count, -1),
            ])
            let now = try Self.milliseconds(fromTime: replies[0])
            var suspects: [String] = []
            let entries = replies[1].array ?? []
            var index = 0
            while index + 1 < entries.count {
                let deadline = entries[index + 1].string.flatMap { Double($0) } ?? 0
                if Int(deadline) <= now, let id = entries[index].string { suspects.append(id) }
                index += 2
            }
            let claimed = (replies[2].array ?? []).compactMap(\.string)
            if !claimed.isEmpty {
                let scores = try connection.send(RedisCommand("ZMSCORE", [leases] + claimed)).array ?? []
                for (id, score) in zip(claimed, scores) where score.isNull && !suspects.contains(id) {
                    suspects.append(id)
                }
            }
            var recovery = Recovery()
            for rawID in suspects {
                guard let id = TaskID(rawID), id.queue == queue else {
                    // Not a task id of this queue: nothing can ever claim it, so just take it out.
                    // Both keys change in one MULTI, so no crash leaves the id on one and not the other.
                    _ = try connection.pipeline([
                        RedisCommand("MULTI"), RedisCommand("ZREM", leases, rawID),
                        RedisCommand("LREM", active, 0, rawID), RedisCommand("EXEC"),
                    ])
                    recovery.dropped += 1
                    continue
                }
                let outcome = try TaskScripts.recover.run(
                    on: connection,
                    keys: [
                        keys.task(id), active, keys.pending(queue), keys.dead(queue), leases, keys.unleased(queue),
                        keys.callbacks(queue), keys.stats(queue), keys.released(queue),
                    ],
                    arguments: [
                        id.rawValue, max(1, retentionMilliseconds), max(0, unleasedGraceMilliseconds),
                        keys.events(queue),
                    ])
                switch outcome.int {
                case 1: recovery.retried += 1
                case 2: recovery.deadLettered += 1
                case 3: recovery.unclaimed += 1
                case 4: recovery.dropped += 1
                default: break
                }
            }
            return recovery
        }
    }

    public func promoteDue(in queue: QueueName, limit: Int) throws(TaskStoreError) -> Promotion {
        let scheduled = keys.scheduled(queue)
        let retrying = keys.retrying(queue)
        let count = max(1, limit)
        return try retryingOnce { connection throws(RedisError) -> Promotion in
            // The first `count` of each set by due time: the due ones of both are among them.
            let replies = try connection.pipeline([
                RedisCommand("TIME"), RedisCommand("ZRANGE", scheduled, 0, count - 1, "WITHSCORES"),
                RedisCommand("ZRANGE", retrying, 0, count - 1, "WITHSCORES"),
            ])
            let now = try Self.milliseconds(fromTime: replies[0])
            var due: [(id: TaskID, at: Int)] = []
            var nextDue: Int?
            for reply in replies[1...] {
                guard let entries = reply.array else {
                    throw RedisError(.protocolViolation, "unexpected ZRANGE reply")
                }
                var index = 0
                while index + 1 < entries.count {
                    let score = Int(entries[index + 1].string.flatMap { Double($0) } ?? 0)
                    if score <= now {
                        if let id = entries[index].string.flatMap(TaskID.init) { due.append((id, score)) }
                    } else {
                        nextDue = min(nextDue ?? Int.max, score - now)
                        break
                    }
                    index += 2
                }
            }
            guard !due.isEmpty else { return Promotion(promoted: 0, nextDueInMilliseconds: nextDue) }
            // Oldest due first, at most `limit`, as from one set.
            due.sort { $0.at < $1.at }
            let moving = due.prefix(count).map(\.id)
            let moved = try TaskScripts.promote.run(
                on: connection, keys: [scheduled, keys.pending(queue), retrying] + moving.map { keys.task($0) },
                arguments: [keys.events(queue)] + moving.map { $0.rawValue })
            return Promotion(promoted: moved.int ?? 0, nextDueInMilliseconds: due.count >= count ? 0 : nextDue)
        }
    }

    static func milliseconds(fromTime reply: RedisValue) throws(RedisError) -> Int {
        guard let time = reply.array, time.count == 2, let seconds = time[0].int, let micros = time[1].int else {
            throw RedisError(.protocolViolation, "unexpected TIME reply \(reply)")
        }
        return seconds * 1000 + micros / 1000
    }
}

import TaskgateRedis

extension QueueInspector {
    /// A page of `queue`'s tasks in one state, newest first.
    ///
    /// Bounded work per page, whatever the queue holds: without a filter, at most `limit` index entries and
    /// records; with one, at most ``TaskListing/maxLimit`` entries are looked at (and their records read, one
    /// `HMGET` each, in one pipelined round), and the page holds the matches among them, so a filter that
    /// matches rarely gives short (even empty) pages whose cursor goes on. The index is a sorted set (`ZRANGE
    /// ... REV`, O(log n + m); a cursor's place is found again with `ZREVRANK`) or, for pending, the list
    /// (`LRANGE`, O(m) from the end it starts at).
    ///
    /// Pages are exact while the index is still: each task appears once. When tasks move meanwhile, a page
    /// never skips a task still in the state; it may repeat one (a sorted-set cursor whose task left the set
    /// resumes at its score) or, in pending, stop early when the cursor's task and every older one were claimed.
    public func tasks(in queue: QueueName, _ listing: TaskListing) throws(TaskStoreError) -> TaskPage {
        let examine = listing.isFiltered ? TaskListing.maxLimit : listing.limit
        let window: [(id: String, score: Double?, position: Double)]
        if listing.state == .pending {
            window = try pendingWindow(keys.pending(queue), cursor: listing.cursor, count: examine)
        } else {
            let key: String
            switch listing.state {
            case .scheduled: key = keys.scheduled(queue)
            case .retrying: key = keys.retrying(queue)
            case .active: key = keys.leases(queue)
            case .dead: key = keys.dead(queue)
            // Scored by when each stops waiting (its expiry): newest first, as for the other states.
            case .waiting: key = keys.waiting(queue)
            default:
                throw TaskStoreError(.failed, "\(listing.state) tasks have no index to list")
            }
            window = try sortedWindow(key, cursor: listing.cursor, count: examine)
        }
        let ids = window.compactMap { TaskID($0.id) }
        let fields = ["type", "state", "attempts", "retries", "last_error", "created_at", "updated_at"]
        let replies = try run(ids.map { RedisCommand("HMGET", [keys.task($0)] + fields) })
        var tasks: [TaskSummary] = []
        var last: TaskCursor?
        let needle = listing.errorContains?.lowercased()
        var examined = 0
        for (entry, reply) in zip(window.filter { TaskID($0.id) != nil }, replies) {
            guard tasks.count < listing.limit, let id = TaskID(entry.id) else { break }
            examined += 1
            last = TaskCursor(position: entry.position, id: id)
            let values = (reply.array ?? []).map(\.string)
            guard values.count == fields.count, values[1] != nil else { continue }  // record gone
            let summary = TaskSummary(
                id: id, type: values[0].flatMap { $0.isEmpty ? nil : $0 },
                state: values[1].flatMap(TaskState.init(rawValue:)), attempts: values[2].flatMap(Int.init) ?? 0,
                retries: values[3].flatMap(Int.init) ?? 0, lastError: values[4],
                createdAt: values[5].flatMap(Int.init).map(Timestamp.init(milliseconds:)),
                updatedAt: (values[6] ?? values[5]).flatMap(Int.init).map(Timestamp.init(milliseconds:)),
                indexedAt: entry.score.map { Timestamp(milliseconds: Int($0)) })
            if let type = listing.type, summary.type != type { continue }
            if let needle, !(summary.lastError?.lowercased().contains(needle) ?? false) { continue }
            tasks.append(summary)
        }
        // More may follow when the window was full (or the page filled before it was all looked at).
        let more = window.count == examine || examined < window.count
        return TaskPage(tasks: tasks, next: more ? last : nil, examined: examined)
    }

    /// Up to `count` members of a sorted set after `cursor`, highest score first.
    private func sortedWindow(
        _ key: String, cursor: TaskCursor?, count: Int
    ) throws(TaskStoreError) -> [(id: String, score: Double?, position: Double)] {
        var start = 0
        if let cursor {
            let found = try run([
                RedisCommand("ZREVRANK", key, cursor.id.rawValue),
                RedisCommand("ZCOUNT", key, "(" + cursor.positionText, "+inf"),
            ])
            // Its place now; if it left the set, the first member at or below its score (may repeat some).
            start = found[0].int.map { $0 + 1 } ?? (found[1].int ?? 0)
        }
        let reply = try run([RedisCommand("ZRANGE", key, start, start + count - 1, "REV", "WITHSCORES")])[0]
        let values = reply.array ?? []
        var window: [(id: String, score: Double?, position: Double)] = []
        var index = 0
        while index + 1 < values.count {
            if let id = values[index].string, let score = values[index + 1].string.flatMap(Double.init) {
                window.append((id, score, score))
            }
            index += 2
        }
        return window
    }

    /// Up to `count` ids of the pending list after `cursor`, newest (the pushing end) first. A place counts from
    /// the old end, which pushes do not move.
    private func pendingWindow(
        _ key: String, cursor: TaskCursor?, count: Int
    ) throws(TaskStoreError) -> [(id: String, score: Double?, position: Double)] {
        let length: Int
        var from: Int  // the place (from the old end, 1-based) of the first id to list
        if let cursor {
            // A place is 1 or more; anything else is no cursor a page gave, and lists nothing.
            guard cursor.position >= 1, cursor.position == cursor.position.rounded() else { return [] }
            let place = Int(cursor.position)
            // Claims since the last page moved the cursor's task nearer the old end: look for it there, as far
            // back as one page can look.
            let reach = min(max(1, place), TaskListing.maxLimit)
            let replies = try run([
                RedisCommand("LLEN", key), RedisCommand("LRANGE", key, -place, -max(1, place - reach + 1)),
            ])
            length = replies[0].int ?? 0
            let ids = (replies[1].array ?? []).compactMap(\.string)
            guard let offset = ids.firstIndex(of: cursor.id.rawValue) else {
                // Claimed, with every older task: nothing older is pending.
                return []
            }
            // The range starts at the list's new end when claims made it shorter than the cursor's place.
            from = min(place, length) - offset - 1
        } else {
            length = try run([RedisCommand("LLEN", key)])[0].int ?? 0
            from = length
        }
        guard from >= 1, length > 0 else { return [] }
        let last = max(1, from - count + 1)
        let ids = (try run([RedisCommand("LRANGE", key, -from, -last)])[0].array ?? []).compactMap(\.string)
        return ids.enumerated().map { (offset, id) in (id, nil, Double(from - offset)) }
    }
}

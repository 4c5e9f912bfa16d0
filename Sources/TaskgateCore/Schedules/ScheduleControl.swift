import TaskgateRedis

/// The operator's seam over schedules, for the HTTP API and the CLI alike: create or replace, read, list,
/// delete, pause, resume and trigger.
///
/// Cost per call: a change is one script on the schedule's `{schedules}` keys (O(log n) in the number of
/// schedules); ``schedule(_:)`` one pipelined round of `HGETALL` and two bounded `LRANGE`s; ``list(after:limit:)``
/// one `ZRANGE BYLEX` of the names and one pipelined round of three commands per schedule of the page. Nothing
/// reads every schedule.
public struct ScheduleControl: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// The most schedules there may be (`0`: no bound); a new name past it is refused.
    public let maxSchedules: Int

    /// The default bound on schedules.
    public static let defaultMaxSchedules = 100_000
    /// The largest page of ``list(after:limit:)``.
    public static let maxPage = 500

    /// Creates the seam.
    public init(pool: RedisConnectionPool, keys: KeySpace, maxSchedules: Int = defaultMaxSchedules) {
        self.pool = pool
        self.keys = keys
        self.maxSchedules = maxSchedules
    }

    /// What ``put(_:_:now:)`` did.
    public enum PutOutcome: Sendable {
        case created(ScheduleRecord)
        case updated(ScheduleRecord)
        /// The name is new and there are ``maxSchedules`` already; nothing was stored.
        case full(limit: Int)
    }

    /// Creates or replaces schedule `name`. Its next tick is the first after `now` (ms; by default Redis' clock,
    /// read first, so that every gateway and the workers agree) when it is new or its timing changed; otherwise
    /// it keeps its next tick, its pause and its history.
    public func put(_ name: ScheduleName, _ definition: ScheduleDefinition, now: Int? = nil) throws(TaskStoreError)
        -> PutOutcome
    {
        let from: Int
        if let now { from = now } else { from = try redisTime() }
        let next = definition.firstTick(afterMilliseconds: from).map(String.init) ?? ""
        let reply = try run(
            ScheduleScripts.put,
            keys: [keys.scheduleNames, keys.schedulesDue, keys.schedulesFiring, keys.schedule(name)],
            arguments: [name.rawValue, definition.spec, definition.timing, next, maxSchedules])
        switch reply.array?.first?.string {
        case "full": return .full(limit: maxSchedules)
        case let kind?:
            guard let record = try schedule(name) else {
                throw TaskStoreError(.corrupt, "schedule \(name) was stored but cannot be read back")
            }
            return kind == "created" ? .created(record) : .updated(record)
        case nil: throw TaskStoreError(.corrupt, "unexpected reply to a schedule's put: \(reply)")
        }
    }

    /// Schedule `name`; `nil` when there is none.
    public func schedule(_ name: ScheduleName) throws(TaskStoreError) -> ScheduleRecord? {
        try records([name]).first ?? nil
    }

    /// Up to `limit` schedules in name order, after `cursor` when given; `next` is the cursor of the page after
    /// this one, `nil` at the end.
    public func list(after cursor: ScheduleName?, limit: Int) throws(TaskStoreError)
        -> (schedules: [ScheduleRecord], next: ScheduleName?)
    {
        let page = min(max(1, limit), Self.maxPage)
        let start = cursor.map { "(" + $0.rawValue } ?? "-"
        let reply = try send([RedisCommand("ZRANGE", keys.scheduleNames, start, "+", "BYLEX", "LIMIT", 0, page + 1)])
        let names = (reply[0].array ?? []).compactMap { $0.string.flatMap(ScheduleName.init) }
        let shown = Array(names.prefix(page))
        return (try records(shown).compactMap { $0 }, names.count > page ? shown.last : nil)
    }

    /// Redis' clock (ms), one `TIME`.
    private func redisTime() throws(TaskStoreError) -> Int { try pool.redisTime() }

    /// How many schedules there are (one `ZCARD`).
    public func count() throws(TaskStoreError) -> Int {
        try send([RedisCommand("ZCARD", keys.scheduleNames)])[0].int ?? 0
    }

    /// Deletes schedule `name` and its history; `false` when there was none. A tick being fired at this moment
    /// may still store its task; no later one fires.
    public func delete(_ name: ScheduleName) throws(TaskStoreError) -> Bool {
        let reply = try run(
            ScheduleScripts.delete,
            keys: [
                keys.scheduleNames, keys.schedulesDue, keys.schedulesFiring, keys.schedule(name),
                keys.scheduleFired(name), keys.scheduleMissed(name),
            ], arguments: [name.rawValue])
        return reply.int == 1
    }

    /// Pauses schedule `name`: no tick fires until ``resume(_:)``; `nil` when there is none.
    public func pause(_ name: ScheduleName) throws(TaskStoreError) -> ScheduleRecord? {
        let reply = try run(
            ScheduleScripts.pause, keys: [keys.schedulesDue, keys.schedule(name)], arguments: [name.rawValue])
        return reply.int == 1 ? try schedule(name) : nil
    }

    /// Resumes schedule `name`; the ticks of the pause count as missed (see ``ScheduleScripts/resume``); `nil`
    /// when there is none.
    public func resume(_ name: ScheduleName) throws(TaskStoreError) -> ScheduleRecord? {
        let reply = try run(
            ScheduleScripts.resume, keys: [keys.schedulesDue, keys.schedulesFiring, keys.schedule(name)],
            arguments: [name.rawValue])
        return reply.int == 1 ? try schedule(name) : nil
    }

    /// Fires schedule `name` now, paused or not, whatever its overlap policy: stores one task from its template
    /// (its `tick` is `now`, ms) through `store`, then records the run. `nil` when there is no such schedule.
    ///
    /// Two steps, since the task's queue may be on another slot than the schedule: a gateway that dies between
    /// them leaves a task that the schedule's list of runs does not show; it is never lost.
    public func trigger(_ name: ScheduleName, now: Int, store: RedisTaskStore) throws(TaskStoreError)
        -> TaskRecord?
    {
        guard let record = try schedule(name) else { return nil }
        var submission = record.definition.task
        submission.origin = ScheduleOrigin(schedule: name, tick: Timestamp(milliseconds: now))
        guard case .created(let task) = try store.enqueue(submission) else {
            throw TaskStoreError(.corrupt, "a trigger's enqueue did not create a task")
        }
        _ = try run(
            ScheduleScripts.recordTrigger, keys: [keys.schedule(name), keys.scheduleFired(name)],
            arguments: [
                ScheduleRun.entry(tick: now, id: task.id, kind: .trigger), task.id.rawValue,
            ])
        return task
    }

    private func records(_ names: [ScheduleName]) throws(TaskStoreError) -> [ScheduleRecord?] {
        guard !names.isEmpty else { return [] }
        var commands: [RedisCommand] = []
        for name in names {
            commands.append(RedisCommand("HGETALL", keys.schedule(name)))
            commands.append(RedisCommand("LRANGE", keys.scheduleFired(name), 0, ScheduleScripts.listLength - 1))
            commands.append(RedisCommand("LRANGE", keys.scheduleMissed(name), 0, ScheduleScripts.listLength - 1))
        }
        let replies = try send(commands)
        return names.enumerated().map { index, name in
            let base = 3 * index
            return ScheduleRecord(
                name: name, fields: QueueInspector.fields(replies[base]),
                runs: (replies[base + 1].array ?? []).compactMap(\.string),
                misses: (replies[base + 2].array ?? []).compactMap(\.string))
        }
    }

    private func send(_ commands: [RedisCommand]) throws(TaskStoreError) -> [RedisValue] {
        let replies = try pool.round(commands)
        for reply in replies {
            if case .error(let message) = reply { throw TaskStoreError(.failed, message) }
        }
        return replies
    }

    private func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument]) throws(TaskStoreError)
        -> RedisValue
    {
        try ScheduleScripts.run(script, on: pool, keys: keys, arguments: arguments)
    }
}

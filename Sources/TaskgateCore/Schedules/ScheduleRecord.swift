/// Everything Redis holds about one schedule, as `GET /schedules/{name}` and `taskgate schedule show` give it.
public struct ScheduleRecord: Sendable {
    /// Its name.
    public let name: ScheduleName
    /// What it is.
    public let definition: ScheduleDefinition
    /// Its first tick not fired yet (ms); `nil` when it never ticks again.
    public let next: Int?
    /// When it was paused; `nil` while it runs.
    public let pausedAt: Timestamp?
    /// The tick held back by `overlap: buffer_one`, if any.
    public let buffered: Timestamp?
    /// When it was created (Redis time).
    public let createdAt: Timestamp
    /// When its definition or pause last changed (Redis time).
    public let updatedAt: Timestamp
    /// Runs so far.
    public let firedCount: Int
    /// Ticks missed so far (see ``ScheduleFirePlan`` for what counts as missed).
    public let missedCount: Int
    /// Its last runs, newest first (at most 20).
    public let runs: [ScheduleRun]
    /// Its last misses, newest first (at most 20).
    public let misses: [ScheduleMiss]

    /// Reads a schedule from its hash's fields and its two lists; `nil` when the hash holds no valid definition.
    public init?(name: ScheduleName, fields: [String: String], runs: [String], misses: [String]) {
        guard let spec = fields["spec"], let definition = try? ScheduleDefinition(body: Array(spec.utf8)),
            let created = fields["created_at"].flatMap(Int.init)
        else { return nil }
        self.name = name
        self.definition = definition
        self.next = fields["next"].flatMap(Int.init)
        self.pausedAt = fields["paused"].flatMap(Int.init).map(Timestamp.init(milliseconds:))
        self.buffered = fields["buffered"].flatMap(Int.init).map(Timestamp.init(milliseconds:))
        self.createdAt = Timestamp(milliseconds: created)
        self.updatedAt = Timestamp(milliseconds: fields["updated_at"].flatMap(Int.init) ?? created)
        self.firedCount = fields["fired"].flatMap(Int.init) ?? 0
        self.missedCount = fields["missed"].flatMap(Int.init) ?? 0
        self.runs = runs.compactMap(ScheduleRun.init(entry:))
        self.misses = misses.compactMap(ScheduleMiss.init(entry:))
    }

    /// The last run, if any.
    public var lastRun: ScheduleRun? { runs.first }

    /// Its next `count` tick times (ms): from ``next`` on, or, while paused, from `now` on (what resuming now
    /// would give, missed ticks aside).
    public func upcoming(_ count: Int, now: Int) -> [Int] {
        guard let next else { return [] }
        if pausedAt != nil || next <= now { return definition.upcoming(afterMilliseconds: now, count: count) }
        return [next] + definition.upcoming(afterMilliseconds: next, count: count - 1)
    }
}

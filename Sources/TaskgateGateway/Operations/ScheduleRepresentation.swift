import TaskgateCore

/// The JSON of the schedule endpoints (the CLI's `--json` prints the same).
public enum ScheduleRepresentation {
    /// How many upcoming ticks a schedule shows.
    public static let upcomingCount = 5

    /// One schedule: its definition, state, next runs, last runs and misses, as of `now` (ms).
    public static func schedule(_ record: ScheduleRecord, now: Int) -> JSONValue {
        var members = [JSONMember("name", .string(record.name.rawValue))]
        members += record.definition.members
        let upcoming = record.upcoming(upcomingCount, now: now)
        members += [
            JSONMember("paused", .bool(record.pausedAt != nil)),
            JSONMember("paused_at", time(record.pausedAt)),
            JSONMember("next_run", upcoming.first.map { .string(Timestamp(milliseconds: $0).rfc3339) } ?? .null),
            JSONMember("next_runs", .array(upcoming.map { .string(Timestamp(milliseconds: $0).rfc3339) })),
            JSONMember("buffered_tick", time(record.buffered)),
            JSONMember("last_run", record.lastRun.map(run) ?? .null),
            JSONMember("runs", .integer(record.firedCount)),
            JSONMember("recent_runs", .array(record.runs.map(run))),
            JSONMember("missed", .integer(record.missedCount)),
            JSONMember("recent_misses", .array(record.misses.map(miss))),
            JSONMember("created_at", .string(record.createdAt.rfc3339)),
            JSONMember("updated_at", .string(record.updatedAt.rfc3339)),
        ]
        return .object(members)
    }

    /// A page of `GET /schedules`.
    public static func page(_ records: [ScheduleRecord], next: ScheduleName?, now: Int) -> JSONValue {
        .object([
            JSONMember("schedules", .array(records.map { schedule($0, now: now) })),
            JSONMember("next_cursor", next.map { .string($0.rawValue) } ?? .null),
        ])
    }

    static func run(_ run: ScheduleRun) -> JSONValue {
        .object([
            JSONMember("tick", .string(run.tick.rfc3339)),
            JSONMember("task_id", .string(run.taskID.rawValue)),
            JSONMember("fired_at", .string(run.firedAt.rfc3339)),
            JSONMember("kind", .string(run.kind.rawValue)),
        ])
    }

    static func miss(_ miss: ScheduleMiss) -> JSONValue {
        .object([
            JSONMember("from", .string(miss.from.rfc3339)),
            JSONMember("to", .string(miss.to.rfc3339)),
            JSONMember("count", .integer(miss.count)),
            JSONMember("reason", .string(miss.reason.rawValue)),
            JSONMember("fired_late", .integer(miss.firedLate)),
            JSONMember("recorded_at", .string(miss.recordedAt.rfc3339)),
        ])
    }

    private static func time(_ timestamp: Timestamp?) -> JSONValue {
        timestamp.map { .string($0.rfc3339) } ?? .null
    }
}

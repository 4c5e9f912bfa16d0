import TaskgateCore

/// The JSON of the queue endpoints: summaries, settings, pages of queues (the CLI's `--json` prints the same).
public enum QueueRepresentation {
    /// One queue as `GET /queues` lists it; `perMinute` adds the chart of the last hour (`GET /queues/{queue}`).
    public static func summary(_ summary: QueueSummary, perMinute: Bool) -> JSONValue {
        let statistics = summary.statistics
        var members = [
            JSONMember("queue", .string(summary.queue.rawValue)),
            JSONMember(
                "depths",
                .object([
                    JSONMember("pending", .integer(summary.depths.pending)),
                    JSONMember("scheduled", .integer(summary.depths.scheduled)),
                    JSONMember("retrying", .integer(summary.depths.retrying)),
                    JSONMember("active", .integer(summary.depths.active)),
                    JSONMember("dead", .integer(summary.depths.dead)),
                ])),
        ]
        members += settingsMembers(pausedAt: summary.pausedAt, limits: summary.limits)
        members += [
            JSONMember(
                "oldest_pending_age_seconds",
                summary.oldestPendingAgeMilliseconds.map { .number(seconds($0)) } ?? .null),
            JSONMember("last_minute", counts(statistics.lastMinute)),
            JSONMember("last_hour", counts(statistics.lastHour)),
            JSONMember("last_day", counts(statistics.lastDay)),
            JSONMember("total", counts(statistics.total)),
            JSONMember("read_at", .string(summary.readAt.rfc3339)),
        ]
        if perMinute {
            members.append(
                JSONMember(
                    "per_minute",
                    .array(
                        statistics.perMinute.map { minute in
                            .object([
                                JSONMember("start", .string(minute.start.rfc3339)),
                                JSONMember("succeeded", .integer(minute.counts.succeeded)),
                                JSONMember("failed", .integer(minute.counts.failed)),
                            ])
                        })))
        }
        return .object(members)
    }

    /// A page of `GET /queues`; `perMinute` adds each queue's chart of the last hour (`?per_minute=true`).
    public static func page(_ summaries: [QueueSummary], next: QueueName?, perMinute: Bool = false) -> JSONValue {
        .object([
            JSONMember("queues", .array(summaries.map { summary($0, perMinute: perMinute) })),
            JSONMember("next_cursor", next.map { .string($0.rawValue) } ?? .null),
        ])
    }

    /// A page of `GET /queues/{queue}/tasks`.
    public static func tasks(_ page: TaskPage) -> JSONValue {
        func time(_ value: Timestamp?) -> JSONValue { value.map { .string($0.rfc3339) } ?? .null }
        return .object([
            JSONMember(
                "tasks",
                .array(
                    page.tasks.map { task in
                        .object([
                            JSONMember("id", .string(task.id.rawValue)),
                            JSONMember("type", task.type.map { .string($0) } ?? .null),
                            JSONMember("state", task.state.map { .string($0.rawValue) } ?? .null),
                            JSONMember("attempts", .integer(task.attempts)),
                            JSONMember("retries", .integer(task.retries)),
                            JSONMember("last_error", task.lastError.map { .string($0) } ?? .null),
                            JSONMember("created_at", time(task.createdAt)),
                            JSONMember("updated_at", time(task.updatedAt)),
                            JSONMember("indexed_at", time(task.indexedAt)),
                        ])
                    })),
            JSONMember("next_cursor", page.next.map { .string($0.description) } ?? .null),
            JSONMember("examined", .integer(page.examined)),
        ])
    }

    /// A queue's settings after pause, resume or a change of limits.
    public static func settings(_ queue: QueueName, _ settings: QueueControl.Settings) -> JSONValue {
        .object(
            [JSONMember("queue", .string(queue.rawValue))]
                + settingsMembers(pausedAt: settings.pausedAt, limits: settings.limits))
    }

    private static func settingsMembers(pausedAt: Timestamp?, limits: QueueLimits) -> [JSONMember] {
        [
            JSONMember("paused", .bool(pausedAt != nil)),
            JSONMember("paused_at", pausedAt.map { .string($0.rfc3339) } ?? .null),
            JSONMember(
                "limits",
                .object([
                    JSONMember(
                        "max_per_second", limits.maxPerSecond.map { .number(QueueLimits.text(rate: $0)) } ?? .null),
                    JSONMember("burst", limits.burst.map { .integer($0) } ?? .null),
                    JSONMember("max_active", limits.maxActive.map { .integer($0) } ?? .null),
                ])),
        ]
    }

    private static func counts(_ counts: QueueStatistics.Counts) -> JSONValue {
        .object([
            JSONMember("succeeded", .integer(counts.succeeded)), JSONMember("failed", .integer(counts.failed)),
        ])
    }

    private static func seconds(_ milliseconds: Int) -> String {
        let whole = milliseconds / 1000
        let rest = milliseconds % 1000
        guard rest != 0 else { return String(whole) }
        var fraction = String(rest)
        while fraction.count < 3 { fraction = "0" + fraction }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}

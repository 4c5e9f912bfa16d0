import TaskgateCore

/// The JSON the API shows for a task, as described in openapi.yaml.
enum TaskRepresentation {
    /// The full task: `POST /tasks` and `GET /tasks/{id}`.
    static func task(_ record: TaskRecord) -> JSONValue {
        // The payload was stored as compact JSON by the enqueue step; it goes out as stored.
        let payload = JSONValue.verbatim(record.payload.isEmpty ? "null" : record.payload)
        return .object([
            JSONMember("id", .string(record.id.rawValue)),
            JSONMember("queue", .string(record.queue.rawValue)),
            JSONMember("type", .string(orNull: record.type)),
            JSONMember("state", .string(record.state.rawValue)),
            JSONMember("retries", .integer(record.retries)),
            JSONMember("max_retries", .integer(record.maxRetries)),
            JSONMember("attempts", .integer(record.attempts)),
            JSONMember("timeout_seconds", record.timeoutMilliseconds.map { seconds($0) } ?? .null),
            JSONMember("payload", payload),
            JSONMember("result", .string(orNull: record.result)),
            JSONMember("last_error", .string(orNull: record.lastError)),
            JSONMember("created_at", .string(record.createdAt.rfc3339)),
            JSONMember("updated_at", .string(record.updatedAt.rfc3339)),
            JSONMember("run_at", .string(orNull: record.runAt?.rfc3339)),
            JSONMember("started_at", .string(orNull: record.startedAt?.rfc3339)),
            JSONMember("finished_at", .string(orNull: record.finishedAt?.rfc3339)),
        ])
    }

    /// `GET /tasks/{id}/retries`.
    static func retries(_ record: TaskRecord) -> JSONValue {
        .object([
            JSONMember("id", .string(record.id.rawValue)),
            JSONMember("retries", .integer(record.retries)),
            JSONMember("max_retries", .integer(record.maxRetries)),
        ])
    }

    private static func seconds(_ milliseconds: Int) -> JSONValue {
        milliseconds % 1000 == 0
            ? .integer(milliseconds / 1000)
            : .number(String(Double(milliseconds) / 1000))
    }
}

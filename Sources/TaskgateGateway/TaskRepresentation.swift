import TaskgateCore

/// The JSON the API shows for a task, as described in openapi.yaml.
enum TaskRepresentation {
    /// The full task: `POST /tasks` and `GET /tasks/{id}` (see ``TaskRecord/json``).
    static func task(_ record: TaskRecord) -> [UInt8] {
        record.json
    }

    /// What a replayed `Idempotency-Key` answers to a token without the `read` scope: the task's `id` and `queue`
    /// only (``ReplayScope``).
    static func reference(_ record: TaskRecord) -> [UInt8] {
        JSONValue.object([
            JSONMember("id", .string(record.id.rawValue)), JSONMember("queue", .string(record.queue.rawValue)),
        ])
        .serializedBytes
    }

    /// A task claimed through the pull API: the task as ``task(_:)`` shows it, plus the attempt's `token`.
    static func claimed(_ task: ClaimedTask) -> [UInt8] {
        var bytes = self.task(task.record)
        bytes.removeLast()  // the closing brace
        if !task.record.after.isEmpty {
            bytes.append(contentsOf: #","parents":"#.utf8)
            bytes.append(contentsOf: ParentOutcome.json(task.record.parents).utf8)
        }
        bytes.append(contentsOf: #","token":""#.utf8)
        bytes.append(contentsOf: task.lease.token.utf8)  // 32 hex digits: nothing to escape
        bytes.append(contentsOf: #""}"#.utf8)
        return bytes
    }

    /// The answer to a claim: `{"lease_seconds":..,"tasks":[...]}`.
    static func claim(_ tasks: [ClaimedTask], leaseMilliseconds: Int) -> [UInt8] {
        var bytes = Array(#"{"lease_seconds":"#.utf8)
        bytes.append(contentsOf: seconds(leaseMilliseconds).serializedBytes)
        bytes.append(contentsOf: #","tasks":["#.utf8)
        for (index, task) in tasks.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: claimed(task))
        }
        bytes.append(contentsOf: "]}".utf8)
        return bytes
    }

    /// The answer to a heartbeat.
    static func heartbeat(_ id: TaskID, leaseMilliseconds: Int) -> [UInt8] {
        JSONValue.object([
            JSONMember("id", .string(id.rawValue)), JSONMember("lease_seconds", seconds(leaseMilliseconds)),
        ]).serializedBytes
    }

    /// `GET /tasks/{id}/retries`.
    static func retries(_ record: TaskRecord) -> [UInt8] {
        JSONValue.object([
            JSONMember("id", .string(record.id.rawValue)),
            JSONMember("retries", .integer(record.retries)),
            JSONMember("max_retries", .integer(record.maxRetries)),
        ]).serializedBytes
    }

    private static func seconds(_ milliseconds: Int) -> JSONValue {
        milliseconds % 1000 == 0
            ? .integer(milliseconds / 1000)
            : .number(String(Double(milliseconds) / 1000))
    }
}

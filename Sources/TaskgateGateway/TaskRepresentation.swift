import TaskgateCore

/// The JSON the API shows for a task, as described in openapi.yaml.
enum TaskRepresentation {
    /// The full task: `POST /tasks` and `GET /tasks/{id}`, written straight to JSON bytes (this is the body of
    /// every 202, so it builds no intermediate tree).
    static func task(_ record: TaskRecord) -> [UInt8] {
        // The fixed part of a task is under 400 bytes; sized once, the buffer never grows.
        var json = JSONWriter(
            capacity: 400 + record.payload.utf8.count + (record.result?.utf8.count ?? 0)
                + (record.lastError?.utf8.count ?? 0))
        json.writeRaw(#"{"id":"#)
        json.writeString(record.id.rawValue)
        json.writeRaw(#","queue":"#)
        json.writeString(record.queue.rawValue)
        json.writeRaw(#","type":"#)
        json.writeString(orNull: record.type)
        json.writeRaw(#","state":"#)
        json.writeString(record.state.rawValue)
        json.writeRaw(#","retries":"#)
        json.writeInteger(record.retries)
        json.writeRaw(#","max_retries":"#)
        json.writeInteger(record.maxRetries)
        json.writeRaw(#","attempts":"#)
        json.writeInteger(record.attempts)
        json.writeRaw(#","timeout_seconds":"#)
        if let timeout = record.timeoutMilliseconds { json.write(seconds(timeout)) } else { json.writeRaw("null") }
        // The payload was stored as compact JSON by the enqueue step; it goes out as stored.
        json.writeRaw(#","payload":"#)
        json.writeVerbatim(record.payload.isEmpty ? "null" : record.payload)
        json.writeRaw(#","result":"#)
        json.writeString(orNull: record.result)
        json.writeRaw(#","last_error":"#)
        json.writeString(orNull: record.lastError)
        json.writeRaw(#","created_at":"#)
        json.writeTimestamp(record.createdAt)
        json.writeRaw(#","updated_at":"#)
        json.writeTimestamp(record.updatedAt)
        json.writeRaw(#","run_at":"#)
        json.writeTimestamp(record.runAt)
        json.writeRaw(#","started_at":"#)
        json.writeTimestamp(record.startedAt)
        json.writeRaw(#","finished_at":"#)
        json.writeTimestamp(record.finishedAt)
        json.writeRaw("}")
        return json.bytes
    }

    /// A task claimed through the pull API: the task as ``task(_:)`` shows it, plus the attempt's `token`.
    static func claimed(_ task: ClaimedTask) -> [UInt8] {
        var bytes = self.task(task.record)
        bytes.removeLast()  // the closing brace
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

import TaskgateCore

/// The line-delimited JSON protocol between a worker and its persistent processes.
///
/// Taskgate writes one line per task: `{"id":...,"type":...,"queue":...,"attempt":1,"retries":0,"payload":...}`,
/// and for a task with `after` also `"parents":{"<id>":{"state":...,"result":...,"error":...}}`.
/// The process answers one line per task: `{"id":...,"ok":true,"result":<any JSON>}` or
/// `{"id":...,"ok":false,"error":"...","retry_after_seconds":N}`. The result, any JSON value, is kept as that
/// value (compact), and no result at all as `null`. Answers are matched to tasks by `id`, so they may come in any order; a line that
/// names no task in flight is taken as the answer to the oldest one.
enum PersistentProtocol {
    /// What one answer line says.
    struct Answer: Sendable {
        /// The task it names, when it names one.
        var id: String?
        /// The attempt's outcome.
        var outcome: Result<TaskResult, TaskFailure>
    }

    /// The line sent for a task, newline included.
    static func line(for task: TaskContext) -> [UInt8] {
        var json = JSONWriter(capacity: 160 + task.payload.utf8.count)
        json.writeRaw(#"{"id":"#)
        json.writeString(task.id.rawValue)
        json.writeRaw(#","type":"#)
        json.writeString(orNull: task.type)
        json.writeRaw(#","queue":"#)
        json.writeString(task.queue.rawValue)
        json.writeRaw(#","attempt":"#)
        json.writeInteger(task.attempt)
        json.writeRaw(#","retries":"#)
        json.writeInteger(task.retries)
        json.writeRaw(#","payload":"#)
        json.writeVerbatim(task.payload.isEmpty ? "null" : task.payload)
        if !task.record.after.isEmpty {
            json.writeRaw(#","parents":"#)
            json.writeVerbatim(ParentOutcome.json(task.record.parents))
        }
        json.writeRaw("}\n")
        return json.bytes
    }

    /// The line that tells a process to stop a task (with `--cancel-lines`), newline included:
    /// `{"cancel":"<id>"}`. The process answers that task as it answers any (an error answer, say); it must
    /// not answer the cancel line itself, and ignores one for a task it is not running.
    static func cancelLine(_ id: String) -> [UInt8] {
        var json = JSONWriter(capacity: 24 + id.utf8.count)
        json.writeRaw(#"{"cancel":"#)
        json.writeString(id)
        json.writeRaw("}\n")
        return json.bytes
    }

    /// Reads one answer line (without its newline).
    static func answer(_ line: [UInt8]) -> Answer {
        let value: JSONValue
        do {
            // The result is only stored: kept as compact text while parsing, not built as a tree and written again.
            value = try JSONValue.parse(line, verbatimMember: "result")
        } catch {
            return malformed(nil, "not JSON (\(error))", line)
        }
        guard case .object(let members) = value else {
            return malformed(nil, "not a JSON object", line)
        }
        var id: String?
        var ok: Bool?
        var result: JSONValue?
        var error: String?
        var retryAfter: Int?
        for member in members {
            switch (member.name, member.value) {
            case ("id", .string(let text)): id = text
            case ("ok", .bool(let flag)): ok = flag
            case ("result", let any): result = any
            case ("error", .string(let text)): error = text
            case ("error", let any): error = any.serialized
            case ("retry_after_seconds", .number(let text)):
                retryAfter = Double(text).map { Int(min(max($0, 0), 86_400) * 1000) }
            default: continue
            }
        }
        guard let ok else { return malformed(id, "no boolean \"ok\"", line) }
        guard ok else {
            let message = error.map { $0.isEmpty ? "failed" : $0 } ?? "failed"
            return Answer(id: id, outcome: .failure(TaskFailure(.failed, message, retryAfterMilliseconds: retryAfter)))
        }
        // The value is kept as the compact JSON the parser wrote; no result at all is null.
        return Answer(id: id, outcome: .success(result.map(TaskResult.init) ?? .null))
    }

    /// The task id an answer starts with (`{"id":"..."`), read from the first bytes of a line too long to parse.
    static func leadingID(_ head: [UInt8]) -> String? {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0a }
        var index = head.startIndex
        func skipSpaces() { while index < head.endIndex, isSpace(head[index]) { index += 1 } }
        func expect(_ text: String) -> Bool {
            let bytes = Array(text.utf8)
            guard head.endIndex - index >= bytes.count, Array(head[index..<index + bytes.count]) == bytes else {
                return false
            }
            index += bytes.count
            return true
        }
        skipSpaces()
        guard expect("{") else { return nil }
        skipSpaces()
        guard expect("\"id\"") else { return nil }
        skipSpaces()
        guard expect(":") else { return nil }
        skipSpaces()
        guard expect("\"") else { return nil }
        guard let end = head[index...].firstIndex(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
        else { return nil }
        return String(decoding: head[index..<end], as: UTF8.self)
    }

    private static func malformed(_ id: String?, _ reason: String, _ line: [UInt8]) -> Answer {
        let start = String(decoding: line.prefix(200), as: UTF8.self)
        return Answer(
            id: id,
            outcome: .failure(
                TaskFailure(.protocolError, "the persistent process wrote a malformed answer, \(reason): \(start)")))
    }
}

/// One state change of a task as the scripts publish it: a compact JSON object on the queue's channel.
///
/// Members: `id`, `queue`, `type` (or `null`), `event` (what happened: `created`, `scheduled`, `promoted`,
/// `active`, `retrying`, `succeeded`, `dead`, `recovered`, `requeued`, `callback_delivered`,
/// `callback_retrying`, `callback_dead`), `state` (the task's state after it), `attempt` (attempts started),
/// `retries`, `seq` (the task's event number: 1 at creation, one more per change) and `at` (Redis time, ms);
/// `run_at` when the task waits for a time, `error` when an attempt or a delivery failed, `callback_status`
/// and `callback_tries` for deliveries. A message carries one or more events, one per line.
public struct TaskEvent: Sendable, Equatable {
    /// The task.
    public let id: TaskID
    /// What happened (`active`, `succeeded`, ...).
    public let kind: String
    /// The task's state after the change.
    public let state: TaskState
    /// The task's event number; a later change has a larger one.
    public let sequence: Int
    /// The event as published: one JSON object.
    public let json: [UInt8]

    /// `true` once the task is in a final state, or gone (`deleted`: its state is the one it was deleted in).
    public var isFinal: Bool { state.isFinal || kind == "deleted" }

    /// Parses one event line; `nil` when it is not one (unknown fields are ignored).
    public init?(json bytes: [UInt8]) {
        guard case .object(let members)? = try? JSONValue.parse(bytes) else { return nil }
        var id: TaskID?
        var kind: String?
        var state: TaskState?
        var sequence: Int?
        for member in members {
            switch (member.name, member.value) {
            case ("id", .string(let text)): id = TaskID(text)
            case ("event", .string(let text)): kind = text
            case ("state", .string(let text)): state = TaskState(rawValue: text)
            case ("seq", .number(let text)): sequence = Int(text)
            default: break
            }
        }
        guard let id, let kind, let state, let sequence else { return nil }
        self.id = id
        self.kind = kind
        self.state = state
        self.sequence = sequence
        self.json = bytes
    }

    /// The task id of an event line, read without parsing it: the scripts write `{"id":"<id>",...`. `nil` for a
    /// line that does not start so.
    public static func leadingID(_ line: ArraySlice<UInt8>) -> String? {
        leadingString(of: line, after: #"{"id":""#)
    }

    /// The string that `line` starts with after `opening` (which ends with its opening quote), up to the next
    /// quote, read without parsing; `nil` when `line` does not start so. The scripts write ids with nothing to
    /// escape.
    static func leadingString(of line: ArraySlice<UInt8>, after opening: String) -> String? {
        guard line.starts(with: opening.utf8) else { return nil }
        let start = line.startIndex + opening.utf8.count
        guard let end = line[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return String(decoding: line[start..<end], as: UTF8.self)
    }

    /// The events of one published message, in order (lines that are not events are skipped).
    public static func events(inMessage message: [UInt8]) -> [TaskEvent] {
        message.split(separator: UInt8(ascii: "\n")).compactMap { TaskEvent(json: Array($0)) }
    }
}

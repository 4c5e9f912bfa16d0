import TaskgateCore

/// What a handler is told about the task it runs.
public struct TaskContext: Sendable {
    /// The whole record as it was when the task was claimed.
    public let record: TaskRecord

    /// Creates a context for a claimed record.
    public init(record: TaskRecord) {
        self.record = record
    }

    /// The task's id.
    public var id: TaskID { record.id }
    /// The task's type, if it has one.
    public var type: String? { record.type }
    /// The queue it came from.
    public var queue: QueueName { record.queue }
    /// This attempt's number, starting at 1.
    public var attempt: Int { record.attempts }
    /// How many times it was scheduled again after a failure before this attempt.
    public var retries: Int { record.retries }
    /// The payload as compact JSON text.
    public var payload: String { record.payload }
    /// Whether the task waited for parents (`after`): its handler is told how they ended (``parentsJSON``).
    public var hasParents: Bool { !record.after.isEmpty }
    /// The parents' outcomes as every envelope carries them: `{"<id>": {"state", "result", "error"}, ...}`.
    public var parentsJSON: String { ParentOutcome.json(record.parents) }
    /// The payload parsed.
    public var payloadValue: JSONValue { (try? JSONValue.parse(record.payload)) ?? .null }
}

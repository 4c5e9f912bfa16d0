/// Everything Redis holds about one task.
public struct TaskRecord: Sendable, Equatable {
    public var id: TaskID
    public var type: String?
    public var state: TaskState
    /// Times the task was scheduled again after a failed attempt; never above ``maxRetries``.
    public var retries: Int
    public var maxRetries: Int
    /// Attempts started.
    public var attempts: Int
    public var timeoutMilliseconds: Int?
    /// The payload as compact JSON text.
    public var payload: String
    public var result: String?
    public var lastError: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var runAt: Timestamp?
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?

    /// The queue the task is on.
    public var queue: QueueName { id.queue }

    /// Decodes the fields of a task hash; `nil` when a required field is missing or malformed.
    public init?(fields: [String: String]) {
        guard let rawID = fields["id"], let id = TaskID(rawID),
            let state = fields["state"].flatMap(TaskState.init(rawValue:)),
            let retries = fields["retries"].flatMap({ Int($0) }),
            let maxRetries = fields["max_retries"].flatMap({ Int($0) }),
            let attempts = fields["attempts"].flatMap({ Int($0) }),
            let created = fields["created_at"].flatMap({ Int($0) })
        else { return nil }
        self.id = id
        self.type = fields["type"].flatMap { $0.isEmpty ? nil : $0 }
        self.state = state
        self.retries = retries
        self.maxRetries = maxRetries
        self.attempts = attempts
        self.timeoutMilliseconds = fields["timeout"].flatMap { Int($0) }
        self.payload = fields["payload"] ?? "null"
        self.result = fields["result"]
        self.lastError = fields["last_error"].flatMap { $0.isEmpty ? nil : $0 }
        self.createdAt = Timestamp(milliseconds: created)
        self.updatedAt = Timestamp(milliseconds: fields["updated_at"].flatMap { Int($0) } ?? created)
        self.runAt = fields["run_at"].flatMap { Int($0) }.map(Timestamp.init(milliseconds:))
        self.startedAt = fields["started_at"].flatMap { Int($0) }.map(Timestamp.init(milliseconds:))
        self.finishedAt = fields["finished_at"].flatMap { Int($0) }.map(Timestamp.init(milliseconds:))
    }

    /// The record the enqueue step stores for `submission` (its payload serialized as `payload`) under `id` at
    /// Redis time `storedAt`, so the store need not read back what it has just written.
    public init(id: TaskID, submission: TaskSubmission, payload: String, storedAt: Timestamp) {
        self.id = id
        self.type = submission.type.flatMap { $0.isEmpty ? nil : $0 }
        self.state = submission.delayMilliseconds > 0 ? .scheduled : .pending
        self.retries = 0
        self.maxRetries = submission.maxRetries
        self.attempts = 0
        self.timeoutMilliseconds = submission.timeoutMilliseconds
        self.payload = payload
        self.result = nil
        self.lastError = nil
        self.createdAt = storedAt
        self.updatedAt = storedAt
        self.runAt = Timestamp(milliseconds: storedAt.milliseconds + max(0, submission.delayMilliseconds))
        self.startedAt = nil
        self.finishedAt = nil
    }

    /// Decodes a flat `HGETALL` reply (name, value, name, value, ...).
    public init?(flatFields: [String]) {
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < flatFields.count {
            fields[flatFields[index]] = flatFields[index + 1]
            index += 2
        }
        self.init(fields: fields)
    }
}

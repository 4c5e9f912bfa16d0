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
    /// What the last successful attempt answered, any JSON value.
    public var result: TaskResult?
    public var lastError: String?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var runAt: Timestamp?
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    /// The number of the task's last event: every state change adds one (see ``TaskEvent/sequence``).
    public var sequence: Int
    /// Where the task's final record is POSTed, if anywhere.
    public var callbackURL: String?
    /// How the delivery to ``callbackURL`` stands, once the task is final.
    public var callback: CallbackDelivery?
    /// The schedule that fired the task and the tick it fired for, when a schedule did.
    public var origin: ScheduleOrigin?

    /// The parents the task waits for (`after`: task ids, or `batch:<id>`), in the order given; empty for most.
    public var after: [String] = []
    /// What the task does when a parent fails; only meaningful with ``after``.
    public var onParentFailure: ParentFailurePolicy = .cancel
    /// How many parents it still waits for (while ``state`` is `waiting`).
    public var waitingFor: Int?
    /// When a waiting task stops waiting and is cancelled, if its parents are not done by then.
    public var expiresAt: Timestamp?
    /// The batch the task belongs to.
    public var batch: String?
    /// How each parent stood when it was last released to the task, with its result or error (what the
    /// handler is given); empty until a parent is released.
    public var parents: [ParentOutcome] = []
    /// Whether other tasks wait for this one (``children`` holds them when the reader fetched them).
    public var hasChildren = false
    /// The ids of the tasks that wait for this one, as far as read (see ``TaskControl``); `nil` when not read.
    public var children: [String]?
    /// How many tasks wait for this one, when ``children`` was read.
    public var childCount: Int?

    /// The queue the task is on.
    public var queue: QueueName { id.queue }

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
        self.sequence = 1
        self.callbackURL = submission.callbackURL
        self.callback = nil
        self.origin = submission.origin
    }

    /// Decodes a flat `HGETALL` reply (name, value, name, value, ...); `nil` when a required field is missing or
    /// malformed. A name that appears again overrides its earlier value. Reads the pairs once, without building a dictionary (workers decode every claim).
    public init?(flatFields: [String]) {
        var id: TaskID?
        var state: TaskState?
        var retries: Int?
        var maxRetries: Int?
        var attempts: Int?
        var created: Int?
        var type: String?
        var timeout: Int?
        var payload = "null"
        var result: TaskResult?
        var legacyResult: String?
        var lastError: String?
        var updated: Int?
        var runAt: Int?
        var startedAt: Int?
        var finishedAt: Int?
        var sequence = 0
        var callbackURL: String?
        var schedule: String?
        var tick: Int?
        var after: String?
        var policy = ParentFailurePolicy.cancel
        var waitingFor: Int?
        var expiresAt: Int?
        var batch: String?
        var kids = false
        var parentFields: [String] = []
        var delivery = CallbackDelivery.Fields()
        var index = 0
        while index + 1 < flatFields.count {
            let value = flatFields[index + 1]
            switch flatFields[index] {
            case "id": id = TaskID(value)
            case "state": state = TaskState(rawValue: value)
            case "retries": retries = Int(value)
            case "max_retries": maxRetries = Int(value)
            case "attempts": attempts = Int(value)
            case "created_at": created = Int(value)
            case "type": type = value
            case "timeout": timeout = Int(value)
            case "payload": payload = value
            case "value": result = TaskResult(compactJSON: value)
            // Written before results were JSON values: the text reads as the JSON string it was.
            case "result": legacyResult = value
            case "last_error": lastError = value
            case "updated_at": updated = Int(value)
            case "run_at": runAt = Int(value)
            case "started_at": startedAt = Int(value)
            case "finished_at": finishedAt = Int(value)
            case "seq": sequence = Int(value) ?? 0
            case "callback": callbackURL = value
            case "schedule": schedule = value
            case "tick": tick = Int(value)
            case "after": after = value
            case "on_parent_failure": policy = ParentFailurePolicy(rawValue: value) ?? .cancel
            case "waits": waitingFor = Int(value)
            case "expires_at": expiresAt = Int(value)
            case "batch": batch = value
            case "kids": kids = value == "1"
            default:
                let name = flatFields[index].utf8
                // `s:`, `r:` and `e:` fields hold the parents' states, results and errors.
                if name.count > 2, name[name.index(after: name.startIndex)] == UInt8(ascii: ":") {
                    parentFields.append(flatFields[index])
                    parentFields.append(value)
                } else {
                    delivery.read(flatFields[index], value)
                }
            }
            index += 2
        }
        // The enqueue step leaves out what repeats a default: no retries or attempts yet, due when created.
        guard let id, let state, let maxRetries, let created else { return nil }
        self.id = id
        self.type = type.flatMap { $0.isEmpty ? nil : $0 }
        self.state = state
        self.retries = retries ?? 0
        self.maxRetries = maxRetries
        self.attempts = attempts ?? 0
        self.timeoutMilliseconds = timeout
        self.payload = payload
        self.result = result ?? legacyResult.map(TaskResult.string)
        self.lastError = lastError.flatMap { $0.isEmpty ? nil : $0 }
        self.createdAt = Timestamp(milliseconds: created)
        self.updatedAt = Timestamp(milliseconds: updated ?? created)
        self.runAt = Timestamp(milliseconds: runAt ?? created)
        self.startedAt = startedAt.map(Timestamp.init(milliseconds:))
        self.finishedAt = finishedAt.map(Timestamp.init(milliseconds:))
        self.sequence = sequence
        self.callbackURL = callbackURL.flatMap { $0.isEmpty ? nil : $0 }
        self.callback = delivery.delivery
        if let after, case .array(let entries)? = try? JSONValue.parse(after) {
            self.after = entries.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
        }
        self.onParentFailure = policy
        if !parentFields.isEmpty { self.parents = ParentOutcome.decode(parentFields, order: self.after) }
        self.waitingFor = state == .waiting ? waitingFor : nil
        self.expiresAt = state == .waiting ? expiresAt.map(Timestamp.init(milliseconds:)) : nil
        self.batch = batch.flatMap { $0.isEmpty ? nil : $0 }
        self.hasChildren = kids
        if let name = schedule.flatMap(ScheduleName.init), let tick {
            self.origin = ScheduleOrigin(schedule: name, tick: Timestamp(milliseconds: tick))
        } else {
            self.origin = nil
        }
    }
}

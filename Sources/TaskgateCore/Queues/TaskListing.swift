/// What an operator asks of one queue's tasks: one state, newest first, optionally filtered, a page at a time.
public struct TaskListing: Sendable, Equatable {
    /// The states that have an index to page through; finished tasks (succeeded) have none.
    public static let listableStates: [TaskState] = [.waiting, .pending, .scheduled, .retrying, .active, .dead]
    /// The most tasks a page returns, and the most records a filtered page reads.
    public static let maxLimit = 1_000

    /// The state to list.
    public var state: TaskState
    /// Only tasks of this type.
    public var type: String?
    /// Only tasks whose `last_error` contains this text (case-insensitive).
    public var errorContains: String?
    /// The most tasks to return (1 to ``maxLimit``).
    public var limit: Int
    /// Where the previous page ended; `nil` for the first page.
    public var cursor: TaskCursor?

    /// Creates a listing request.
    public init(
        state: TaskState, type: String? = nil, errorContains: String? = nil, limit: Int = 50, cursor: TaskCursor? = nil
    ) {
        self.state = state
        self.type = type
        self.errorContains = errorContains
        self.limit = min(max(1, limit), Self.maxLimit)
        self.cursor = cursor
    }

    /// Whether a filter is set (a page then reads up to ``maxLimit`` records to find `limit` matches).
    public var isFiltered: Bool { type != nil || errorContains != nil }
}

/// Where a page of tasks ended: the last task listed and its place in the state's index. Opaque to clients,
/// written `<position>~<id>` (the score in a sorted set, or the place from the list's old end).
public struct TaskCursor: Sendable, Equatable, CustomStringConvertible {
    /// The sorted set score, or for the pending list the place counted from its old (claiming) end, 1-based.
    public var position: Double
    /// The last task listed.
    public var id: TaskID

    /// Creates a cursor.
    public init(position: Double, id: TaskID) {
        self.position = position
        self.id = id
    }

    /// Parses a cursor a page gave; `nil` when it is not one.
    public init?(_ text: String) {
        // Scores Taskgate writes are times in ms and places in a list: far inside ±1e15 (no Int overflow).
        guard let dot = text.firstIndex(of: "~"), let position = Double(text[..<dot]), abs(position) <= 1e15,
            let id = TaskID(String(text[text.index(after: dot)...]))
        else { return nil }
        self.position = position
        self.id = id
    }

    public var description: String { positionText + "~" + id.rawValue }

    /// The position as Redis reads a score: whole numbers without a fraction.
    var positionText: String {
        position == position.rounded() && abs(position) < 1e15 ? String(Int(position)) : String(position)
    }
}

/// One task as a page lists it: what tells tasks apart, without the payload or result (`GET /tasks/{id}`).
public struct TaskSummary: Sendable, Equatable {
    public var id: TaskID
    public var type: String?
    public var state: TaskState?
    public var attempts: Int
    public var retries: Int
    public var lastError: String?
    public var createdAt: Timestamp?
    public var updatedAt: Timestamp?
    /// The score that placed it in its state's index (due time, lease deadline, time of death); `nil` in pending.
    public var indexedAt: Timestamp?
}

/// A page of tasks and where the next starts.
public struct TaskPage: Sendable, Equatable {
    /// The tasks, newest first.
    public var tasks: [TaskSummary]
    /// Where the next page starts; `nil` when this was the last.
    public var next: TaskCursor?
    /// How many index entries this page looked at (bounded by ``TaskListing/maxLimit``).
    public var examined: Int
}

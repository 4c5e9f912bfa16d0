/// What a child's handler is told about one parent: its state when it was released to the child, and its
/// result or last error, copied to the child's slot then (so a parent's record expiring does not take it away).
public struct ParentOutcome: Sendable, Equatable {
    /// The parent: a task id, or `batch:<id>`.
    public var id: String
    /// `succeeded`, `dead` or `cancelled` (a batch: `succeeded` when all its tasks did, else `dead`).
    public var state: String
    /// The parent's result (a batch's: its counts); `nil` when it has none.
    public var result: TaskResult?
    /// The parent's last error, when it failed.
    public var error: String?

    /// Creates an outcome.
    public init(id: String, state: String, result: TaskResult?, error: String?) {
        self.id = id
        self.state = state
        self.result = result
        self.error = error
    }

    /// Decodes a child's dependencies hash (`s:`, `r:` and `e:` fields, flat `HGETALL` order), parents in
    /// `order` (the child's `after`) first.
    public static func decode(_ flat: [String], order: [String]) -> [ParentOutcome] {
        var states: [String: String] = [:]
        var results: [String: String] = [:]
        var errors: [String: String] = [:]
        var index = 0
        while index + 1 < flat.count {
            let name = flat[index]
            let value = flat[index + 1]
            let parent = String(name.dropFirst(2))
            if name.hasPrefix("s:") {
                states[parent] = value
            } else if name.hasPrefix("r:") {
                results[parent] = value
            } else if name.hasPrefix("e:") {
                errors[parent] = value
            }
            index += 2
        }
        return order.compactMap { id in
            guard let state = states[id] else { return nil }
            return ParentOutcome(
                id: id, state: state, result: results[id].flatMap { $0.isEmpty ? nil : TaskResult(compactJSON: $0) },
                error: errors[id].flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    /// `{"<id>": {"state": ..., "result": ..., "error": ...}, ...}`: the `parents` member of every envelope.
    public static func json(_ parents: [ParentOutcome]) -> String {
        var json = JSONWriter(capacity: 64 + parents.reduce(0) { $0 + 80 + ($1.result?.json.utf8.count ?? 0) })
        json.writeRaw("{")
        for (index, parent) in parents.enumerated() {
            if index > 0 { json.writeRaw(",") }
            json.writeString(parent.id)
            json.writeRaw(#":{"state":"#)
            json.writeString(parent.state)
            json.writeRaw(#","result":"#)
            json.writeVerbatim(parent.result?.json ?? "null")
            json.writeRaw(#","error":"#)
            json.writeString(orNull: parent.error)
            json.writeRaw("}")
        }
        json.writeRaw("}")
        return json.text
    }
}

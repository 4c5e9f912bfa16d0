import Logging
import TaskgateCore

/// The log fields that name a task, the same on every line about one: `id`, `queue` and, when known, `attempt`.
enum LogFields {
    /// The fields for task `id`, its `attempt` when given, and `extra` (`error`, ...).
    static func task(_ id: TaskID, attempt: Int? = nil, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var fields: Logger.Metadata = ["id": "\(id)", "queue": "\(id.queue.rawValue)"]
        if let attempt { fields["attempt"] = "\(attempt)" }
        return fields.merging(extra) { $1 }
    }
}

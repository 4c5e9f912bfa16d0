/// One run of a schedule: the tick, the task it created and when.
public struct ScheduleRun: Sendable, Equatable {
    /// How the run came about.
    public enum Kind: String, Sendable {
        /// At its tick.
        case tick
        /// After its tick, for a tick that was missed (a pause, an outage) or held back by the overlap policy.
        case late
        /// By `POST /schedules/{name}/trigger`.
        case trigger
    }

    /// The tick the run stands for (for a trigger, when it was asked for).
    public let tick: Timestamp
    /// The task it created.
    public let taskID: TaskID
    /// When the task was stored (Redis time).
    public let firedAt: Timestamp
    /// How it came about.
    public let kind: Kind

    /// Creates a run.
    public init(tick: Timestamp, taskID: TaskID, firedAt: Timestamp, kind: Kind) {
        self.tick = tick
        self.taskID = taskID
        self.firedAt = firedAt
        self.kind = kind
    }

    /// Reads a stored entry, `<tick> <id> <fired_at> <kind>`; `nil` when it is not one.
    public init?(entry: String) {
        let parts = entry.split(separator: " ")
        guard parts.count == 4, let tick = Int(parts[0]), let id = TaskID(String(parts[1])),
            let fired = Int(parts[2]), let kind = Kind(rawValue: String(parts[3]))
        else { return nil }
        self.init(
            tick: Timestamp(milliseconds: tick), taskID: id, firedAt: Timestamp(milliseconds: fired), kind: kind)
    }

    /// The entry as stored; `fired_at` is left to the script (`*`), which knows Redis' time.
    static func entry(tick: Int, id: TaskID, kind: Kind) -> String {
        "\(tick) \(id.rawValue) * \(kind.rawValue)"
    }
}

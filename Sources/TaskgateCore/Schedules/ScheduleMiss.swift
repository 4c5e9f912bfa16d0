/// A run of ticks that did not fire at their time, all for one reason.
public struct ScheduleMiss: Sendable, Equatable {
    /// Why they were missed.
    public enum Reason: String, Sendable {
        /// The schedule was paused at their time.
        case paused
        /// No worker fired them in time (none ran, or Redis could not be reached) and a later tick was due.
        case outage
        /// The overlap policy held them back: the last run was not final.
        case overlap
    }

    /// The first missed tick.
    public let from: Timestamp
    /// The last missed tick.
    public let to: Timestamp
    /// How many ticks.
    public let count: Int
    /// Why.
    public let reason: Reason
    /// How many of them fired late anyway (the latest one under `misfire: skip`; those within the window under
    /// `all`).
    public let firedLate: Int
    /// When the miss was recorded (Redis time).
    public let recordedAt: Timestamp

    /// Creates a miss.
    public init(from: Timestamp, to: Timestamp, count: Int, reason: Reason, firedLate: Int, recordedAt: Timestamp) {
        self.from = from
        self.to = to
        self.count = count
        self.reason = reason
        self.firedLate = firedLate
        self.recordedAt = recordedAt
    }

    /// Reads a stored entry, `<from> <to> <count> <reason> <fired_late> <recorded_at>`; `nil` when it is not one.
    public init?(entry: String) {
        let parts = entry.split(separator: " ")
        guard parts.count == 6, let from = Int(parts[0]), let to = Int(parts[1]), let count = Int(parts[2]),
            let reason = Reason(rawValue: String(parts[3])), let late = Int(parts[4]), let at = Int(parts[5])
        else { return nil }
        self.init(
            from: Timestamp(milliseconds: from), to: Timestamp(milliseconds: to), count: count, reason: reason,
            firedLate: late, recordedAt: Timestamp(milliseconds: at))
    }

    /// The entry as stored, without its time: the script adds Redis' own (`*`).
    var entry: String {
        "\(from.milliseconds) \(to.milliseconds) \(count) \(reason.rawValue) \(firedLate) *"
    }
}

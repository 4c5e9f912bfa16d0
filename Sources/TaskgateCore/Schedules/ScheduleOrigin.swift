/// Which schedule fired a task, and for which tick: a fired task's record carries it as `schedule` and `tick`.
public struct ScheduleOrigin: Sendable, Hashable {
    /// The schedule's name.
    public let schedule: ScheduleName
    /// The time the tick stands for (for a trigger, when it was asked for).
    public let tick: Timestamp

    /// Creates an origin.
    public init(schedule: ScheduleName, tick: Timestamp) {
        self.schedule = schedule
        self.tick = tick
    }
}

/// What an operator sees of one queue: depths, pause and limits, how long the next task has waited, and counts.
public struct QueueSummary: Sendable, Equatable {
    /// The queue.
    public var queue: QueueName
    /// Tasks per state.
    public var depths: QueueDepths
    /// When the queue was paused; `nil` while it runs.
    public var pausedAt: Timestamp?
    /// Its limits.
    public var limits: QueueLimits
    /// How long the task next in line has been pending (ms); `nil` when none is.
    public var oldestPendingAgeMilliseconds: Int?
    /// Succeeded and failed counts.
    public var statistics: QueueStatistics
    /// Redis' time when the figures were read.
    public var readAt: Timestamp

    /// Whether the queue is paused.
    public var isPaused: Bool { pausedAt != nil }
}

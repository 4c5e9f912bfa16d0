/// How many tasks of a queue are in each live state: each one `LLEN` or `ZCARD`, never a scan.
public struct QueueDepths: Sendable, Equatable {
    /// Waiting to be claimed (`LLEN pending`).
    public var pending: Int
    /// Delayed until their time (`ZCARD scheduled`).
    public var scheduled: Int
    /// Waiting out a retry's backoff (`ZCARD retrying`).
    public var retrying: Int
    /// Claimed and running (`ZCARD leases`, plus the ids a blocking claim holds between its two steps).
    public var active: Int
    /// Dead-lettered and kept for their retention time (`ZCARD dead`).
    public var dead: Int

    /// Creates depths.
    public init(pending: Int = 0, scheduled: Int = 0, retrying: Int = 0, active: Int = 0, dead: Int = 0) {
        self.pending = pending
        self.scheduled = scheduled
        self.retrying = retrying
        self.active = active
        self.dead = dead
    }
}

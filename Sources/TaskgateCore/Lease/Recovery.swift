/// What one recovery pass over a queue did.
public struct Recovery: Sendable, Equatable {
    /// Tasks whose lease expired, put back to pending with the lost attempt counted as a failure.
    public var retried: Int = 0
    /// Tasks whose lease expired with no retries left, moved to the dead-letter set.
    public var deadLettered: Int = 0
    /// Claimed tasks that never got a lease (their worker died between claim and lease), put back unchanged.
    public var unclaimed: Int = 0
    /// Ids in the active list that belonged to no live claim (finished or expired records), removed.
    public var dropped: Int = 0

    /// Creates an empty result.
    public init() {}

    /// Creates a result from its counts.
    public init(retried: Int, deadLettered: Int, unclaimed: Int, dropped: Int) {
        self.retried = retried
        self.deadLettered = deadLettered
        self.unclaimed = unclaimed
        self.dropped = dropped
    }

    /// Tasks the pass put back or dead-lettered.
    public var recovered: Int { retried + deadLettered + unclaimed }
}

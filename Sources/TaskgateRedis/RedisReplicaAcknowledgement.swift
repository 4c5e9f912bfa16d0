/// How many replicas must hold a write before it is acknowledged (`--min-replicas`), and how long to wait.
///
/// Redis replicates asynchronously: a master that fails over can lose writes it had already answered. A round
/// of a ``RedisPipeline`` made with this setting ends with one `WAIT replicas timeout`, which returns once that
/// many replicas have acknowledged every write the connection made, or when the time is up; the round's calls
/// fail with ``RedisError/Code/notReplicated`` when too few did.
public struct RedisReplicaAcknowledgement: Sendable, Equatable {
    /// Replicas that must confirm (at least 1).
    public var replicas: Int
    /// How long `WAIT` may block, in milliseconds (at least 1: 0 would mean forever).
    public var timeoutMilliseconds: Int

    /// Creates a setting; `replicas` and `timeoutMilliseconds` are raised to at least 1.
    public init(replicas: Int, timeoutMilliseconds: Int) {
        self.replicas = max(1, replicas)
        self.timeoutMilliseconds = max(1, timeoutMilliseconds)
    }

    /// The `WAIT` command that ends a round.
    public var command: RedisCommand { RedisCommand("WAIT", replicas, timeoutMilliseconds) }

    /// The error for a round whose `WAIT` answered `confirmed` replicas, or nil when that is enough.
    public func shortfall(_ reply: RedisValue) -> RedisError? {
        let confirmed = reply.int ?? -1
        guard confirmed < replicas else { return nil }
        return RedisError(
            .notReplicated,
            "\(confirmed < 0 ? "no" : String(confirmed)) of \(replicas) replica(s) confirmed the write within "
                + "\(timeoutMilliseconds) ms; it is on the master and may be lost if the master fails")
    }
}

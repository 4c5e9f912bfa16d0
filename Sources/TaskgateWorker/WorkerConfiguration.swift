import TaskgateCore
import TaskgateRedis

/// Everything a worker needs to run.
public struct WorkerConfiguration: Sendable {
    /// Where Redis is.
    public var redis: RedisConfiguration
    /// How keys are named (must match the gateway's).
    public var keys: KeySpace
    /// The queue to take tasks from.
    public var queue: QueueName
    /// Tasks run at once by this process.
    public var concurrency: Int
    /// Backoff between a failure and the next attempt.
    public var retryPolicy: RetryPolicy
    /// How long finished (succeeded or dead) records are kept, in milliseconds.
    public var retentionMilliseconds: Int
    /// How long running tasks may take to finish after SIGTERM before they are stopped and put back.
    public var gracePeriod: Duration
    /// How long one blocking claim waits before the worker checks for shutdown, in milliseconds.
    public var claimBlockMilliseconds: Int
    /// The longest pause between two looks at the scheduled set, in milliseconds.
    public var schedulerIntervalMilliseconds: Int
    /// How long a claim lasts without a heartbeat, how often heartbeats go out, and how often recovery runs.
    public var leaseTiming: LeaseTiming
    /// The per-attempt limit of tasks submitted without `timeout_seconds`, in milliseconds; `nil`: none.
    public var defaultTimeoutMilliseconds: Int?

    /// Creates a configuration with the defaults a user would expect.
    public init(
        redis: RedisConfiguration, keys: KeySpace = .standard, queue: QueueName = .default, concurrency: Int = 1,
        retryPolicy: RetryPolicy = .standard, retentionMilliseconds: Int = 86_400_000,
        gracePeriod: Duration = .seconds(30), claimBlockMilliseconds: Int = 1_000,
        schedulerIntervalMilliseconds: Int = 250, leaseTiming: LeaseTiming = .standard,
        defaultTimeoutMilliseconds: Int? = nil
    ) {
        self.redis = redis
        self.keys = keys
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.retryPolicy = retryPolicy
        self.retentionMilliseconds = max(1, retentionMilliseconds)
        self.gracePeriod = gracePeriod
        self.claimBlockMilliseconds = max(10, claimBlockMilliseconds)
        self.schedulerIntervalMilliseconds = max(10, schedulerIntervalMilliseconds)
        self.leaseTiming = leaseTiming
        self.defaultTimeoutMilliseconds = defaultTimeoutMilliseconds.map { max(1, $0) }
    }
}

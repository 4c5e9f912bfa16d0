import TaskgateCore
import TaskgateRedis

/// Everything a worker needs to run.
public struct WorkerConfiguration: Sendable {
    /// Where Redis is.
    public var redis: RedisConfiguration
    /// How keys are named (must match the gateway's).
    public var keys: KeySpace
    /// The queues to take tasks from, with their weights; never empty.
    public var queues: [WeightedQueue]
    /// Whether the queues are served in strict order (a queue's tasks only while the queues before it are
    /// empty or held) instead of by weight.
    public var strictPriority: Bool
    /// The first queue (the only one, for most workers).
    public var queue: QueueName { queues[0].name }
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
    /// Whether the worker fires due schedules (`--schedules`, on by default): any number of workers may, each
    /// tick fires once (see ``ScheduleFirer``).
    public var firesSchedules: Bool
    /// How long a revived waiting task waits again for its parents, in milliseconds (``WorkflowLimits``).
    public var workflowRetentionMilliseconds: Int = WorkflowLimits.defaultRetentionMilliseconds
    /// How long a worker's claim on schedules it fires lasts before another worker may take them over (ms).
    public var scheduleClaimMilliseconds: Int

    /// Creates a configuration with the defaults a user would expect: `queues`, when given, replace `queue`
    /// (duplicates are dropped, the first kept).
    public init(
        redis: RedisConfiguration, keys: KeySpace = .standard, queue: QueueName = .default,
        queues: [WeightedQueue] = [], strictPriority: Bool = false, concurrency: Int = 1,
        retryPolicy: RetryPolicy = .standard, retentionMilliseconds: Int = 86_400_000,
        gracePeriod: Duration = .seconds(30), claimBlockMilliseconds: Int = 1_000,
        schedulerIntervalMilliseconds: Int = 250, leaseTiming: LeaseTiming = .standard,
        defaultTimeoutMilliseconds: Int? = nil, firesSchedules: Bool = true, scheduleClaimMilliseconds: Int = 30_000
    ) {
        self.redis = redis
        self.keys = keys
        var seen = Set<QueueName>()
        let distinct = queues.filter { seen.insert($0.name).inserted }
        self.queues = distinct.isEmpty ? [WeightedQueue(queue)] : distinct
        self.strictPriority = strictPriority
        self.concurrency = max(1, concurrency)
        self.retryPolicy = retryPolicy
        self.retentionMilliseconds = max(1, retentionMilliseconds)
        self.gracePeriod = gracePeriod
        self.claimBlockMilliseconds = max(10, claimBlockMilliseconds)
        self.schedulerIntervalMilliseconds = max(10, schedulerIntervalMilliseconds)
        self.leaseTiming = leaseTiming
        self.defaultTimeoutMilliseconds = defaultTimeoutMilliseconds.map { max(1, $0) }
        self.firesSchedules = firesSchedules
        self.scheduleClaimMilliseconds = max(1000, scheduleClaimMilliseconds)
    }
}

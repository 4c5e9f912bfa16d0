import TaskgateCore
import TaskgateHTTP
import TaskgateRedis

/// Everything the gateway needs to run.
public struct GatewayConfiguration: Sendable {
    /// How the HTTP server listens.
    public var http: HTTPServerConfiguration
    /// Where Redis is.
    public var redis: RedisConfiguration
    /// How keys are named.
    public var keys: KeySpace
    /// How long an `Idempotency-Key` is remembered, in milliseconds.
    public var idempotencyWindowMilliseconds: Int
    /// The API tokens required on every endpoint but the health probes; `nil` leaves the API open.
    public var tokens: BearerTokens?
    /// What the gateway refuses when ``tokens`` is `nil`: unknown `Host`s and other origins (see ``OpenAccess``).
    public var openAccess: OpenAccess
    /// How the pull API behaves.
    public var pull: PullConfiguration
    /// The hosts a `callback_url` may name; ``CallbackAllowList/none`` refuses every callback.
    public var callbackAllow: CallbackAllowList
    /// The most bytes buffered for one slow event-stream client before its stream is closed.
    public var streamBufferBytes: Int
    /// The most queues clients may make (``QueueRegistry/maxQueues``; 0: no bound).
    public var maxQueues: Int = QueueRegistry.defaultMaxQueues
    /// The most schedules there may be (``ScheduleControl/maxSchedules``; 0: no bound).
    public var maxSchedules: Int = ScheduleControl.defaultMaxSchedules
    /// The only queues clients may use; `nil` for any.
    public var allowedQueues: Set<QueueName>? = nil
    /// How long a waiting task waits for its parents and a batch lives (``WorkflowLimits``).
    public var workflowRetentionMilliseconds: Int = WorkflowLimits.defaultRetentionMilliseconds
    /// The most queues `/metrics` labels by name; the others are summed under `queue="_other"`.
    public var metricsMaxQueues: Int = GatewayMetrics.defaultMaxQueueLabels

    /// Creates a configuration; idempotency keys are kept for 24 hours by default.
    public init(
        http: HTTPServerConfiguration, redis: RedisConfiguration, keys: KeySpace = .standard,
        idempotencyWindowMilliseconds: Int = 86_400_000, tokens: BearerTokens? = nil,
        openAccess: OpenAccess = OpenAccess(),
        pull: PullConfiguration = PullConfiguration(), callbackAllow: CallbackAllowList = .none,
        streamBufferBytes: Int = 64 * 1024
    ) {
        self.http = http
        self.redis = redis
        self.keys = keys
        self.idempotencyWindowMilliseconds = max(1_000, idempotencyWindowMilliseconds)
        self.tokens = tokens
        self.openAccess = openAccess
        self.pull = pull
        self.callbackAllow = callbackAllow
        self.streamBufferBytes = max(1_024, streamBufferBytes)
    }
}

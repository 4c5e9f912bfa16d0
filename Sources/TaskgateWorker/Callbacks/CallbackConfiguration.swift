import TaskgateCore
import TaskgateRedis

/// How completion callbacks are delivered: where from, to which hosts, signed how, how often tried.
public struct CallbackConfiguration: Sendable {
    /// Where Redis is.
    public var redis: RedisConfiguration
    /// How keys are named (must match the gateway's).
    public var keys: KeySpace
    /// The queues whose tasks' callbacks this process delivers.
    public var queues: [QueueName]
    /// The hosts a callback may go to, checked again before every try (a host removed since is not called).
    public var allow: CallbackAllowList
    /// Signs every delivery (Standard Webhooks); `nil` sends none of the `webhook-*` headers.
    public var signer: WebhookSigner?
    /// The pause after each failed try, in milliseconds; a delivery gets `count + 1` tries in all.
    public var retryDelaysMilliseconds: [Int]
    /// The time limit of one try (connect, send, answer), in milliseconds.
    public var timeoutMilliseconds: Int
    /// Deliveries under way at once.
    public var concurrency: Int
    /// How long a record is kept once its delivery ended, in milliseconds.
    public var retentionMilliseconds: Int
    /// The longest pause between two looks for due deliveries, in milliseconds.
    public var pollIntervalMilliseconds: Int
    /// The most bytes of an answer read (its start goes into the delivery's `last_error`).
    public var maxAnswerBytes: Int

    /// 10 tries over about 21 hours: after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h and 10 h.
    public static let standardRetryDelaysMilliseconds = [5, 30, 120, 600, 1_800, 3_600, 10_800, 21_600, 36_000].map {
        $0 * 1000
    }

    /// Creates a configuration with the defaults a user would expect.
    public init(
        redis: RedisConfiguration, keys: KeySpace = .standard, queues: [QueueName], allow: CallbackAllowList,
        signer: WebhookSigner?, retryDelaysMilliseconds: [Int] = standardRetryDelaysMilliseconds,
        timeoutMilliseconds: Int = 10_000, concurrency: Int = 16, retentionMilliseconds: Int = 86_400_000,
        pollIntervalMilliseconds: Int = 500, maxAnswerBytes: Int = 1_024
    ) {
        self.redis = redis
        self.keys = keys
        self.queues = queues
        self.allow = allow
        self.signer = signer
        self.retryDelaysMilliseconds = retryDelaysMilliseconds.map { max(0, $0) }
        self.timeoutMilliseconds = max(1, timeoutMilliseconds)
        self.concurrency = max(1, concurrency)
        self.retentionMilliseconds = max(1, retentionMilliseconds)
        self.pollIntervalMilliseconds = max(10, pollIntervalMilliseconds)
        self.maxAnswerBytes = max(0, maxAnswerBytes)
    }

    /// How long a try holds its delivery: its time limit and 5 s to record the outcome. A deliverer that dies
    /// mid-try leaves the delivery due again after this.
    var leaseMilliseconds: Int { timeoutMilliseconds + 5_000 }
}

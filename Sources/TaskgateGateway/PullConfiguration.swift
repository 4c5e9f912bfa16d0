import TaskgateCore

/// How the gateway's pull API behaves.
public struct PullConfiguration: Sendable {
    /// The most claims that may wait for work at once (each holds a thread and a Redis connection while it waits).
    public var maxWaitingClaims: Int
    /// The backoff of a failed attempt reported without `retry_after_seconds`.
    public var retryPolicy: RetryPolicy
    /// How long finished records are kept, in milliseconds.
    public var retentionMilliseconds: Int

    /// Creates a configuration: 64 waiting claims, the standard backoff, records kept a day.
    public init(
        maxWaitingClaims: Int = 64, retryPolicy: RetryPolicy = .standard, retentionMilliseconds: Int = 86_400_000
    ) {
        self.maxWaitingClaims = max(0, maxWaitingClaims)
        self.retryPolicy = retryPolicy
        self.retentionMilliseconds = max(1, retentionMilliseconds)
    }
}

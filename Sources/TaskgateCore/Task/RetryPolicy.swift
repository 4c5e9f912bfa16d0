/// How long a failed task waits before its next attempt: exponential backoff with jitter.
public struct RetryPolicy: Sendable, Equatable {
    /// The delay before the first retry, before jitter.
    public var baseMilliseconds: Int
    /// The ceiling on any delay, before jitter.
    public var maxMilliseconds: Int
    /// The share of each delay that is randomized, from 0 (none) to 1 (full jitter).
    public var jitter: Double

    /// Exponential backoff: `base * 2^(retry-1)`, capped at `max`, the last `jitter` share of it random.
    public static func exponentialJitter(
        baseMilliseconds: Int = 2_000, maxMilliseconds: Int = 3_600_000, jitter: Double = 0.5
    ) -> RetryPolicy {
        RetryPolicy(baseMilliseconds: baseMilliseconds, maxMilliseconds: maxMilliseconds, jitter: jitter)
    }

    /// The default: 2 s, 4 s, 8 s, ... up to one hour, each between half and all of that.
    public static let standard = exponentialJitter()

    /// Creates a policy.
    public init(baseMilliseconds: Int, maxMilliseconds: Int, jitter: Double) {
        self.baseMilliseconds = max(0, baseMilliseconds)
        self.maxMilliseconds = max(self.baseMilliseconds, maxMilliseconds)
        self.jitter = min(1, max(0, jitter))
    }

    /// The delay before retry number `retry` (1 for the first retry), in milliseconds.
    public func delayMilliseconds(forRetry retry: Int) -> Int {
        var generator = SystemRandomNumberGenerator()
        return delayMilliseconds(forRetry: retry, using: &generator)
    }

    /// The delay before retry number `retry`, drawing the jitter from `generator`.
    public func delayMilliseconds<G: RandomNumberGenerator>(forRetry retry: Int, using generator: inout G) -> Int {
        let exponent = min(max(retry, 1) - 1, 40)
        let (scaled, overflow) = baseMilliseconds.multipliedReportingOverflow(by: 1 << exponent)
        let ceiling = overflow ? maxMilliseconds : min(scaled, maxMilliseconds)
        let randomPart = Int(Double(ceiling) * jitter)
        guard randomPart > 0 else { return ceiling }
        return ceiling - randomPart + Int.random(in: 0...randomPart, using: &generator)
    }
}

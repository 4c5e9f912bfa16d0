/// An operator's limits on how fast a queue's tasks start, enforced inside the claim scripts for every worker on
/// every host (see ``TaskScripts/admission``).
public struct QueueLimits: Sendable, Equatable {
    /// The most tasks started per second (a token bucket in Redis); `nil` for no rate limit.
    public var maxPerSecond: Double?
    /// How many tasks may start at once after a quiet spell; `nil` for one second's worth (at least 1).
    public var burst: Int?
    /// The most attempts running at once; `nil` for no cap.
    public var maxActive: Int?

    /// The bounds the API accepts.
    public static let perSecondRange: ClosedRange<Double> = 0.001...1_000_000
    public static let burstRange: ClosedRange<Int> = 1...1_000_000
    public static let maxActiveRange: ClosedRange<Int> = 1...1_000_000

    /// Creates limits.
    public init(maxPerSecond: Double? = nil, burst: Int? = nil, maxActive: Int? = nil) {
        self.maxPerSecond = maxPerSecond
        self.burst = burst
        self.maxActive = maxActive
    }

    /// Whether no limit is set.
    public var isEmpty: Bool { maxPerSecond == nil && maxActive == nil }

    /// A rate as JSON, Redis and Lua all read it: whole numbers without a fraction or an exponent.
    public static func text(rate value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    /// Reads the limits from a control hash's fields.
    init(control fields: [String: String]) {
        maxPerSecond = fields["max_per_second"].flatMap(Double.init)
        burst = fields["burst"].flatMap(Int.init)
        maxActive = fields["max_active"].flatMap(Int.init)
    }
}

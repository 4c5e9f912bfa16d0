/// A queue's succeeded and failed attempts over the last minute, hour and day, and per minute over the last hour,
/// read from the counts the scripts keep (``KeySpace/stats(_:)``).
///
/// The scripts count into rings of minute and hour buckets by Redis' clock. A window is the sum of the buckets
/// it covers, the oldest one counted in proportion to its part inside the window (exact when attempts spread
/// evenly over that bucket). Reading costs one `HGETALL` of at most 354 fields, whatever the number of tasks.
public struct QueueStatistics: Sendable, Equatable {
    /// Succeeded and failed counts of one span.
    public struct Counts: Sendable, Equatable {
        /// Attempts that succeeded.
        public var succeeded: Int
        /// Attempts that failed (each retry and each dead-lettering counts, as does a lost worker's attempt).
        public var failed: Int

        /// Creates counts.
        public init(succeeded: Int = 0, failed: Int = 0) {
            self.succeeded = succeeded
            self.failed = failed
        }
    }

    /// One minute of the chart: when it starts and what it counted.
    public struct Minute: Sendable, Equatable {
        /// The start of the minute (Redis time).
        public var start: Timestamp
        /// What the minute counted (so far, for the current one).
        public var counts: Counts
    }

    /// The last 60 seconds.
    public var lastMinute: Counts
    /// The last 60 minutes.
    public var lastHour: Counts
    /// The last 24 hours.
    public var lastDay: Counts
    /// Since the queue's first attempt.
    public var total: Counts
    /// The 60 minutes up to now, oldest first; the last is the current, partial, minute.
    public var perMinute: [Minute]

    /// The ring sizes the scripts use (``TaskScripts/countOutcome``).
    static let minuteSlots = 62
    static let hourSlots = 26

    /// Reads the stats hash's fields (as `HGETALL` gives them) at Redis time `now` (ms).
    public init(fields: [String: String], now: Int) {
        func bucket(_ kind: String, _ unit: String, _ number: Int, slots: Int) -> Int {
            let slot = "\(kind):\(unit):\(number % slots)"
            guard fields[slot + "@"].flatMap(Int.init) == number else { return 0 }
            return fields[slot].flatMap(Int.init) ?? 0
        }
        func window(_ span: Int, _ size: Int, _ unit: String, slots: Int) -> Counts {
            let current = now / size
            let covered = span / size
            // The oldest bucket's share of the window: the part of it not yet passed by the current one.
            let share = 1 - Double(now - current * size) / Double(size)
            var counts = [0.0, 0.0]
            for (index, kind) in ["s", "f"].enumerated() {
                for back in 0...covered {
                    let count = Double(bucket(kind, unit, current - back, slots: slots))
                    counts[index] += back == covered ? count * share : count
                }
            }
            return Counts(succeeded: Int(counts[0].rounded()), failed: Int(counts[1].rounded()))
        }
        lastMinute = window(60_000, 60_000, "m", slots: Self.minuteSlots)
        lastHour = window(3_600_000, 60_000, "m", slots: Self.minuteSlots)
        lastDay = window(86_400_000, 3_600_000, "h", slots: Self.hourSlots)
        total = Counts(
            succeeded: fields["s:total"].flatMap(Int.init) ?? 0, failed: fields["f:total"].flatMap(Int.init) ?? 0)
        let minute = now / 60_000
        perMinute = (0..<60).reversed().map { back in
            let number = minute - back
            return Minute(
                start: Timestamp(milliseconds: number * 60_000),
                counts: Counts(
                    succeeded: bucket("s", "m", number, slots: Self.minuteSlots),
                    failed: bucket("f", "m", number, slots: Self.minuteSlots)))
        }
    }
}

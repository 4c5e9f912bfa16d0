import TaskgateCore
import Testing

/// The counts a queue's stats hash holds, read back as windows and a chart.
@Suite(.dedicatedThreads) struct QueueStatisticsTests {
    /// Minute `m` of kind `k` holding `n`, as the scripts write it (slot and its bucket number).
    private func minute(_ kind: String, _ number: Int, _ count: Int) -> [String: String] {
        let slot = "\(kind):m:\(number % 62)"
        return [slot: String(count), slot + "@": String(number)]
    }

    private func hour(_ kind: String, _ number: Int, _ count: Int) -> [String: String] {
        let slot = "\(kind):h:\(number % 26)"
        return [slot: String(count), slot + "@": String(number)]
    }

    @Test func windowsSumTheirBucketsAndWeighTheOldestByItsShare() {
        let currentMinute = 29_000_000
        // 15 s into the current minute: the minute before still has 45 s (three quarters) inside the last 60 s.
        let now = currentMinute * 60_000 + 15_000
        var fields: [String: String] = [:]
        for part in [
            minute("s", currentMinute, 10), minute("s", currentMinute - 1, 8), minute("s", currentMinute - 30, 5),
            minute("f", currentMinute - 60, 4), minute("f", currentMinute - 61, 100),
            hour("s", now / 3_600_000, 40), hour("s", now / 3_600_000 - 24, 20),
            ["s:total": "123", "f:total": "7"],
        ] {
            fields.merge(part) { $1 }
        }
        let statistics = QueueStatistics(fields: fields, now: now)
        #expect(statistics.lastMinute == .init(succeeded: 10 + 6, failed: 0))
        // The hour: minutes c-59...c whole, c-60 at three quarters; c-61 is outside.
        #expect(statistics.lastHour == .init(succeeded: 23, failed: 3))
        // The day: hour buckets, the 25th back at its share (now is 15 s into the current minute, not an hour).
        let hourShare = 1 - Double(now % 3_600_000) / 3_600_000
        #expect(statistics.lastDay.succeeded == Int((40 + 20 * hourShare).rounded()))
        #expect(statistics.total == .init(succeeded: 123, failed: 7))
        #expect(statistics.perMinute.count == 60)
        #expect(statistics.perMinute.last?.start.milliseconds == currentMinute * 60_000)
        #expect(statistics.perMinute.last?.counts.succeeded == 10)
        #expect(statistics.perMinute[statistics.perMinute.count - 31].counts.succeeded == 5)
    }

    @Test func aSlotLeftFromAnEarlierLapReadsAsZero() {
        let currentMinute = 29_000_000
        let now = currentMinute * 60_000 + 30_000
        // The current minute's slot still holds the minute 62 earlier (same slot, older bucket number).
        let fields = minute("s", currentMinute - 62, 9)
        let statistics = QueueStatistics(fields: fields, now: now)
        #expect(statistics.lastMinute.succeeded == 0)
        #expect(statistics.lastHour.succeeded == 0)
        #expect(statistics.perMinute.allSatisfy { $0.counts.succeeded == 0 })
    }
}

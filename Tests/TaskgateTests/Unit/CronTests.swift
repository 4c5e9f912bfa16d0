import Testing

@testable import TaskgateCore

/// Cron expressions: what they fire at, checked against a table and against a brute-force scan, and what they refuse.
@Suite(.dedicatedThreads) struct CronTests {
    private static func time(_ text: String) -> CivilTime {
        let parts = text.split(whereSeparator: { "-T:".contains($0) }).map { Int($0)! }
        return CivilTime(
            year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4],
            second: parts.count > 5 ? parts[5] : 0)
    }

    @Test(arguments: [
        ("*/15 * * * *", "2026-12-07T10:07:00", "2026-12-07T10:15:00"),
        ("*/15 * * * *", "2026-12-07T10:15:00", "2026-12-07T10:30:00"),
        ("0 9 * * MON-FRI", "2026-12-04T09:00:00", "2026-12-07T09:00:00"),  // Friday, then Monday
        ("0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("0 0 1,15 * 5", "2026-12-01T00:00:00", "2026-12-04T00:00:00"),  // both day fields: either matches
        ("*/10 * * * * *", "2026-12-07T10:00:05", "2026-12-07T10:00:10"),  // six fields, seconds first
        ("@hourly", "2026-12-07T10:59:59", "2026-12-07T11:00:00"),
        ("@daily", "2026-12-31T12:00:00", "2027-01-01T00:00:00"),
        ("@weekly", "2026-12-07T00:00:00", "2026-12-13T00:00:00"),
        ("@monthly", "2026-12-07T00:00:00", "2027-01-01T00:00:00"),
        ("@yearly", "2026-12-07T00:00:00", "2027-01-01T00:00:00"),
        ("0 0 * * 7", "2026-12-07T00:00:00", "2026-12-13T00:00:00"),  // 7 is Sunday
        ("30 2 31 * *", "2026-04-01T00:00:00", "2026-05-31T02:30:00"),
        ("0 12 * JAN,jul *", "2026-02-01T00:00:00", "2026-07-01T12:00:00"),
        ("59 23 31 12 *", "2026-12-31T23:59:00", "2027-12-31T23:59:00"),
        ("5/20 * * * *", "2026-12-07T10:46:00", "2026-12-07T11:05:00"),
        ("0 0 ? * SUN", "2026-12-07T00:00:00", "2026-12-13T00:00:00"),
        ("0-10/5 8-9 * * *", "2026-12-07T08:10:00", "2026-12-07T09:00:00"),
        ("15 14 1 * *", "2026-01-31T23:00:00", "2026-02-01T14:15:00"),
    ])
    func firesNextAt(_ cron: String, _ after: String, _ expected: String) throws {
        let expression = try CronExpression(cron)
        let next = try #require(expression.next(after: Self.time(after)))
        #expect(next == Self.time(expected), "\(cron) after \(after)")
        #expect(expression.matches(next))
        #expect(!expression.matches(Self.time(after)) || Self.time(after) < next)
    }

    /// Every minute of 40 days scanned one by one: the next time is the first minute that matches, for expressions
    /// that mix ranges, steps, lists, names and both day fields.
    @Test(arguments: ["*/7 3-5 * * 2", "0 */6 1,10-12 * *", "13 0 * * SAT,sun", "0 12 5 * 1-3", "45 23 * FEB,MAR *"])
    func nextIsTheFirstMatchOfAScan(_ cron: String) throws {
        let expression = try CronExpression(cron)
        let start = CivilTime(year: 2027, month: 1, day: 20).utcSeconds
        var from = CivilTime(utcSeconds: start)
        var checked = 0
        for minute in 1...(40 * 1440) {
            let candidate = CivilTime(utcSeconds: start + minute * 60)
            guard expression.matches(candidate) else { continue }
            #expect(expression.next(after: from) == candidate, "\(cron) after \(from)")
            from = candidate
            checked += 1
        }
        #expect(checked > 0, "\(cron) fired in the scan")
    }

    @Test(arguments: [
        ("61 * * * *", CronError.Code.outOfRange, "minute"),
        ("* 24 * * *", .outOfRange, "hour"),
        ("* * 0 * *", .outOfRange, "day_of_month"),
        ("* * * 13 *", .outOfRange, "month"),
        ("* * * * 8", .outOfRange, "day_of_week"),
        ("* * * *", .fieldCount, "cron"),
        ("1 2 3 4 5 6 7", .fieldCount, "cron"),
        ("5-2 * * * *", .invalidRange, "minute"),
        ("*/0 * * * *", .invalidStep, "minute"),
        ("*/61 * * * *", .invalidStep, "minute"),
        ("1/2/3 * * * *", .invalidStep, "minute"),
        ("0 0 30 2 *", .neverFires, "day_of_month"),
        ("0 0 31 4,6 *", .neverFires, "day_of_month"),
        ("0 0 L * *", .unsupported, "day_of_month"),
        ("0 0 * * 1#2", .unsupported, "day_of_week"),
        ("0 0 15W * *", .unsupported, "day_of_month"),
        ("@fortnightly", .unknownMacro, "cron"),
        ("a * * * *", .invalidValue, "minute"),
        ("1,,2 * * * *", .invalidValue, "minute"),
        ("* * * FOO *", .invalidValue, "month"),
        ("? * * * *", .invalidValue, "minute"),
    ])
    func refuses(_ cron: String, _ code: CronError.Code, _ field: String) {
        do {
            _ = try CronExpression(cron)
            Issue.record("\(cron) was accepted")
        } catch {
            #expect(error.code == code && error.field == field, "\(cron): \(error)")
        }
    }

    @Test func everyCountsFromTheEpochSoEveryHostFindsTheSameTicks() throws {
        #expect(try CronSchedule("@every 30s") == .every(seconds: 30))
        #expect(try CronSchedule("@every 1h30m") == .every(seconds: 5400))
        #expect(try CronSchedule("@EVERY 2m") == .every(seconds: 120))
        let every = try CronSchedule("@every 30s")
        #expect(every.next(afterUTCSeconds: 100) == 120)
        #expect(every.next(afterUTCSeconds: 120) == 150)
        #expect(every.next(afterUTCSeconds: -1) == 0)
        for bad in ["@every", "@every 0s", "@every 90", "@every 1d", "@every s", "@every 32000h", "@every 1h 2m"] {
            #expect(throws: CronError.self, "\(bad)") { try CronSchedule(bad) }
        }
        #expect(try CronSchedule("0 9 * * *").next(afterUTCSeconds: 0) == 9 * 3600)
    }

    @Test func civilTimeAgreesWithTheCalendar() {
        #expect(CivilTime(year: 2026, month: 12, day: 7).weekday == 1)
        #expect(CivilTime(year: 1970, month: 1, day: 1).weekday == 4)
        #expect(CivilTime(year: 2000, month: 2, day: 29).weekday == 2)
        #expect(CivilTime(year: 1969, month: 12, day: 31).weekday == 3)
        #expect(CivilTime.daysIn(month: 2, of: 1900) == 28 && CivilTime.daysIn(month: 2, of: 2000) == 29)
        for seconds in [0, 1, 86_399, 86_400, 951_782_400, 1_796_654_137, -1, -86_401, 4_102_444_799] {
            #expect(CivilTime(utcSeconds: seconds).utcSeconds == seconds)
        }
        #expect(CivilTime(utcSeconds: 1_796_654_137).description == "2026-12-07T14:35:37")
    }
}

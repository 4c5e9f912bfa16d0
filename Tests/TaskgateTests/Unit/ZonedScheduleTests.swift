import Testing

@testable import TaskgateCore

/// Schedules in time zones: one tick per wall time across daylight-saving changes, at the instants cron users
/// expect (a skipped 02:30 at 03:00; a repeated one once).
@Suite(.dedicatedThreads) struct ZonedScheduleTests {
    private static func utc(_ text: String) -> Int {
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).map { Int($0)! }
        return CivilTime(
            year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4],
            second: parts.count > 5 ? parts[5] : 0
        ).utcSeconds
    }

    /// Every tick from `start` up to `end` (instants, seconds).
    private static func ticks(_ cron: String, zone: String, from start: String, to end: String) throws -> [Int] {
        let schedule = try ZonedSchedule(try CronSchedule(cron), timeZone: zone)
        var ticks: [Int] = []
        var tick = schedule.firstTick(afterUTCSeconds: utc(start))
        while let current = tick, current.instant <= utc(end) {
            ticks.append(current.instant)
            tick = schedule.tick(after: current)
        }
        return ticks
    }

    @Test func utcIsTheDefault() throws {
        let schedule = try ZonedSchedule(try CronSchedule("0 9 * * *"))
        let tick = try #require(schedule.firstTick(afterUTCSeconds: Self.utc("2026-12-07T10:00Z")))
        #expect(tick.instant == Self.utc("2026-12-08T09:00Z"))
        #expect(tick.wall == CivilTime(year: 2026, month: 12, day: 8, hour: 9))
    }

    @Test func aSkippedTimeFiresOnceWhenTheClockJumps() throws {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        #expect(
            try Self.ticks("30 2 * * *", zone: "Europe/Berlin", from: "2026-03-28T12:00Z", to: "2026-03-30T12:00Z")
                == [Self.utc("2026-03-29T01:00Z"), Self.utc("2026-03-30T00:30Z")])
        // Four wall times swallowed by the gap fire as one tick.
        #expect(
            try Self.ticks("*/15 2 * * *", zone: "Europe/Berlin", from: "2026-03-28T12:00Z", to: "2026-03-29T12:00Z")
                == [Self.utc("2026-03-29T01:00Z")])
        // Lord Howe Island skips half an hour: 02:00 becomes 02:30 (+10:30 to +11) on 2026-10-04.
        #expect(
            try Self.ticks("0 2 * * *", zone: "Australia/Lord_Howe", from: "2026-10-03T00:00Z", to: "2026-10-04T00:00Z")
                == [Self.utc("2026-10-03T15:30Z")])
    }

    @Test func aRepeatedTimeFiresAtItsFirstOccurrenceOnly() throws {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET again (01:00 UTC).
        #expect(
            try Self.ticks("30 2 * * *", zone: "Europe/Berlin", from: "2026-10-24T12:00Z", to: "2026-10-26T12:00Z")
                == [Self.utc("2026-10-25T00:30Z"), Self.utc("2026-10-26T01:30Z")])
        #expect(
            try Self.ticks("*/15 2 * * *", zone: "Europe/Berlin", from: "2026-10-24T12:00Z", to: "2026-10-25T12:00Z")
                == ["00:00", "00:15", "00:30", "00:45"].map { Self.utc("2026-10-25T\($0)Z") })
    }

    @Test func aDailyTimeKeepsItsWallClockTimeAcrossTheChange() throws {
        // New York: EST (-5) until 2026-03-08, EDT (-4) after.
        #expect(
            try Self.ticks("0 9 * * *", zone: "America/New_York", from: "2026-03-06T00:00Z", to: "2026-03-10T00:00Z")
                == [
                    Self.utc("2026-03-06T14:00Z"), Self.utc("2026-03-07T14:00Z"), Self.utc("2026-03-08T13:00Z"),
                    Self.utc("2026-03-09T13:00Z"),
                ])
    }

    @Test func everyCountsRealSecondsWhateverTheZone() throws {
        #expect(
            try Self.ticks("@every 1h", zone: "Europe/Berlin", from: "2026-03-29T00:30Z", to: "2026-03-29T03:00Z")
                == [Self.utc("2026-03-29T01:00Z"), Self.utc("2026-03-29T02:00Z"), Self.utc("2026-03-29T03:00Z")])
    }

    @Test func anUnknownZoneIsRefusedByName() throws {
        do {
            _ = try ZonedSchedule(try CronSchedule("@daily"), timeZone: "Mars/Olympus_Mons")
            Issue.record("an unknown zone was accepted")
        } catch {
            #expect(error.field == "timezone" && error.code == .invalidValue)
        }
    }
}

import Testing

@testable import TaskgateCore

/// The misfire and overlap rules, on a per-minute schedule (`* * * * *`): which ticks fire, which count as missed
/// and why, and where the schedule goes next.
@Suite struct ScheduleFirePlanTests {
    private static let minute = 60_000
    /// 2026-12-07T12:00:00Z in ms: a whole minute.
    private static let t0 = 1_796_644_800_000

    private static func definition(
        misfire: MisfirePolicy = .skip, window: Int = 3600, overlap: OverlapPolicy = .allow
    ) throws -> ScheduleDefinition {
        try ScheduleDefinition(
            cron: "* * * * *", misfire: misfire, misfireWindowSeconds: window, overlap: overlap,
            task: TaskSubmission(payload: .null))
    }

    private static func at(_ minutes: Int, plus milliseconds: Int = 0) -> Int { t0 + minutes * minute + milliseconds }

    @Test func aTickOnTimeFiresAndNothingIsMissed() throws {
        let plan = ScheduleFirePlan(
            try Self.definition(), next: Self.at(0), buffered: nil, paused: nil, lastRunning: false,
            now: Self.at(0, plus: 40))
        #expect(plan.fires == [.init(tick: Self.at(0), kind: .tick)])
        #expect(plan.misses.isEmpty)
        #expect(plan.next == Self.at(1))
    }

    @Test func nothingDueFiresNothingAndKeepsTheNextTick() throws {
        let plan = ScheduleFirePlan(
            try Self.definition(), next: Self.at(1), buffered: nil, paused: nil, lastRunning: false,
            now: Self.at(0, plus: 59_000))
        #expect(plan.fires.isEmpty && plan.misses.isEmpty)
        #expect(plan.next == Self.at(1))
    }

    @Test func afterAnOutageSkipFiresTheLatestAndCountsTheRest() throws {
        // Ticks 0..4 passed without a worker; the latest is on time, four are missed.
        let plan = ScheduleFirePlan(
            try Self.definition(), next: Self.at(0), buffered: nil, paused: nil, lastRunning: false,
            now: Self.at(4, plus: 30_000))
        #expect(plan.fires == [.init(tick: Self.at(4), kind: .tick)])
        #expect(plan.misses.count == 1)
        let miss = try #require(plan.misses.first)
        #expect(miss.reason == .outage && miss.count == 4 && miss.firedLate == 0)
        #expect(miss.from.milliseconds == Self.at(0) && miss.to.milliseconds == Self.at(3))
        #expect(plan.next == Self.at(5))
    }

    @Test func afterAnOutageAllFiresEveryTickInsideTheWindow() throws {
        // Ten ticks passed; a window of 300 s keeps ticks 5..9 (now is 9:30).
        let plan = ScheduleFirePlan(
            try Self.definition(misfire: .all, window: 300), next: Self.at(0), buffered: nil, paused: nil,
            lastRunning: false, now: Self.at(9, plus: 30_000))
        #expect(plan.fires.map(\.tick) == (5...9).map { Self.at($0) })
        #expect(plan.fires.map(\.kind) == [.late, .late, .late, .late, .tick])
        let miss = try #require(plan.misses.first)
        #expect(miss.reason == .outage && miss.count == 9 && miss.firedLate == 4)
        #expect(plan.next == Self.at(10))
    }

    @Test func allFiresAtMostAHundredPerPassAndLeavesTheRestDue() throws {
        let plan = ScheduleFirePlan(
            try Self.definition(misfire: .all, window: 604_800), next: Self.at(0), buffered: nil, paused: nil,
            lastRunning: false, now: Self.at(150))
        #expect(plan.fires.count == ScheduleFirePlan.maxFiresPerPass)
        #expect(plan.fires.last?.tick == Self.at(99))
        // The next pass starts at tick 100, which is due already.
        #expect(plan.next == Self.at(100))
        #expect(plan.misses.first?.count == 100)
    }

    @Test func threePausedTicksCountAsMissedAndTheLatestFiresOnce() throws {
        // Paused from 0:10 to 3:10: ticks 1, 2 and 3 fell inside; resumed, a worker looks at 3:20.
        let plan = ScheduleFirePlan(
            try Self.definition(), next: Self.at(1), buffered: nil,
            paused: Self.at(0, plus: 10_000)..<Self.at(3, plus: 10_000),
            lastRunning: false, now: Self.at(3, plus: 20_000))
        #expect(plan.fires == [.init(tick: Self.at(3), kind: .late)])
        #expect(plan.misses.count == 1)
        let miss = try #require(plan.misses.first)
        #expect(miss.reason == .paused && miss.count == 3 && miss.firedLate == 1)
        #expect(plan.next == Self.at(4))
    }

    @Test func overlapSkipHoldsATickBackWhileTheLastRunRuns() throws {
        let running = ScheduleFirePlan(
            try Self.definition(overlap: .skip), next: Self.at(0), buffered: nil, paused: nil, lastRunning: true,
            now: Self.at(0, plus: 5))
        #expect(running.fires.isEmpty)
        #expect(running.misses.map(\.reason) == [.overlap])
        #expect(running.misses.first?.count == 1)
        #expect(running.next == Self.at(1))
        let done = ScheduleFirePlan(
            try Self.definition(overlap: .skip), next: Self.at(0), buffered: nil, paused: nil, lastRunning: false,
            now: Self.at(0, plus: 5))
        #expect(done.fires.map(\.tick) == [Self.at(0)])
    }

    @Test func bufferOneKeepsOneTickAndFiresItWhenTheLastRunIsFinal() throws {
        let definition = try Self.definition(overlap: .bufferOne)
        let first = ScheduleFirePlan(
            definition, next: Self.at(0), buffered: nil, paused: nil, lastRunning: true, now: Self.at(0, plus: 5))
        #expect(first.fires.isEmpty && first.misses.isEmpty)
        #expect(first.buffered == Self.at(0))
        // Still running at the next tick: one is buffered already, so this one is missed.
        let second = ScheduleFirePlan(
            definition, next: Self.at(1), buffered: Self.at(0), paused: nil, lastRunning: true,
            now: Self.at(1, plus: 5))
        #expect(second.fires.isEmpty)
        #expect(second.buffered == Self.at(0))
        #expect(second.misses.map(\.reason) == [.overlap])
        // The run ended between ticks: the buffered tick fires, late, and nothing else is due.
        let third = ScheduleFirePlan(
            definition, next: Self.at(2), buffered: Self.at(0), paused: nil, lastRunning: false,
            now: Self.at(1, plus: 30_000))
        #expect(third.fires == [.init(tick: Self.at(0), kind: .late)])
        #expect(third.buffered == nil)
        #expect(third.next == Self.at(2))
    }

    @Test func aScheduleThatNeverTicksAgainHasNoNext() throws {
        // A year field is not cron's; a single instant is: the 29th of February fires, then four years later.
        let leap = try ScheduleDefinition(cron: "0 0 29 2 *", task: TaskSubmission(payload: .null))
        let next = try #require(leap.firstTick(afterMilliseconds: Self.t0))
        #expect(Timestamp(milliseconds: next).rfc3339 == "2028-02-29T00:00:00.000Z")
        #expect(leap.tick(afterTick: next).map { Timestamp(milliseconds: $0).rfc3339 } == "2032-02-29T00:00:00.000Z")
    }

    @Test func taskIDsAreDerivedFromTheScheduleAndTheTick() throws {
        let name = try #require(ScheduleName("nightly"))
        let a = ScheduleFirer.taskID(for: name, tick: Self.t0, queue: .default)
        #expect(a == ScheduleFirer.taskID(for: name, tick: Self.t0, queue: .default))
        #expect(a != ScheduleFirer.taskID(for: name, tick: Self.t0 + 1000, queue: .default))
        #expect(a != ScheduleFirer.taskID(for: try #require(ScheduleName("nightly2")), tick: Self.t0, queue: .default))
        #expect(a.queue == .default && a.token.count == 32)
    }
}

import Foundation
import Synchronization
import Testing

@testable import TaskgateCore
@testable import TaskgateRedis

/// Firing schedules in process, on a real Redis and its clock: firers racing for the same ticks, a firer that
/// dies between its steps, a stalled one, a pause of three ticks, a delete.
@Suite(.dedicatedThreads) struct ScheduleFiringTests {
    /// The ticks (ms) of the tasks on `queue`, one entry per task.
    static func firedTicks(_ ns: TestNamespace, queue: QueueName) throws -> [Int] {
        let ids = (try ns.redis("LRANGE", ns.keys.pending(queue), 0, -1).array ?? []).compactMap(\.string)
        return try ids.map { id in
            let key = ns.keys.task(try #require(TaskID(id)))
            return try #require(try ns.redis("HGET", key, "tick").string.flatMap(Int.init))
        }
    }

    /// The schedule's `runs` and `missed` counts.
    static func counts(_ ns: TestNamespace, _ name: ScheduleName) throws -> (runs: Int, missed: Int) {
        let fields = try ns.redis("HMGET", ns.keys.schedule(name), "fired", "missed").array ?? []
        return (fields.first?.string.flatMap(Int.init) ?? 0, fields.last?.string.flatMap(Int.init) ?? 0)
    }

    private static func definition(_ cron: String, queue: String = "ticks") throws -> ScheduleDefinition {
        try ScheduleDefinition(cron: cron, task: TaskSubmission(payload: .integer(1), queue: QueueName(queue)!))
    }

    @Test func twoFirersRacingFireEachTickOnce() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let name = try #require(ScheduleName("race"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        _ = try control.put(name, try Self.definition("* * * * * *"), now: Timestamp.now.milliseconds)
        let stop = Atomic<Bool>(false)
        let firers = (0..<3).map { _ in ScheduleFirer(pool: ns.pool, keys: ns.keys, claimMilliseconds: 1000) }
        let done = Mutex(0)
        for firer in firers {
            Thread.detachNewThread {
                while !stop.load(ordering: .acquiring) {
                    _ = try? firer.fire()
                    usleep(1000)
                }
                done.withLock { $0 += 1 }
            }
        }
        try await eventually("six runs") { try Self.counts(ns, name).runs >= 6 }
        stop.store(true, ordering: .releasing)
        try await eventually("the firers to stop") { done.withLock { $0 } == firers.count }

        let ticks = try Self.firedTicks(ns, queue: QueueName("ticks")!).sorted()
        let counts = try Self.counts(ns, name)
        #expect(Set(ticks).count == ticks.count, "a tick fired twice: \(ticks)")
        #expect(ticks.count == counts.runs)
        // Every tick from the first to the last fired or was counted missed: none lost.
        let span = ((ticks.last ?? 0) - (ticks.first ?? 0)) / 1000 + 1
        #expect(span == ticks.count + counts.missed)
        #expect(ticks.allSatisfy { $0 % 1000 == 0 })
    }

    @Test func aFirerKilledAfterStoringLeavesItsTickToTheNextWhichStoresNothingNew() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let name = try #require(ScheduleName("killed"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        let definition = try Self.definition("@every 1s")
        _ = try control.put(name, definition, now: Timestamp.now.milliseconds)
        let firstTick = try #require(try ns.redis("HGET", ns.keys.schedule(name), "next").string.flatMap(Int.init))
        try await eventually("the first tick to be due") { try ns.redisClock() >= firstTick }

        // The dead worker's two first steps, as ScheduleFirer takes them: claim, then store the tick's task.
        let claim = try ns.server.pool.withConnection { connection throws(RedisError) in
            try ScheduleScripts.claim.run(
                on: connection, keys: [ns.keys.schedulesDue, ns.keys.schedulesFiring],
                arguments: [10, 1000, "dead-token", ns.keys.schedulePrefix])
        }
        #expect(claim.array?.count == 12)
        var submission = definition.task
        submission.origin = ScheduleOrigin(schedule: name, tick: Timestamp(milliseconds: firstTick))
        let queue = submission.queue
        let id = ScheduleFirer.taskID(for: name, tick: firstTick, queue: queue)
        let request = EnqueueRequest(
            id: id, submission: submission, payload: "1",
            keys: [ns.keys.task(id), ns.keys.firedTick(queue, name, tick: firstTick)], windowMilliseconds: 10_000,
            notAfterMilliseconds: try ns.redisClock() + 500)
        _ = try ns.store.runEnqueue([request])

        // While its claim holds, nobody else takes the schedule; once it runs out, the next firer does.
        let firer = ScheduleFirer(pool: ns.pool, keys: ns.keys, claimMilliseconds: 1000)
        #expect(try firer.fire().claimed == 0)
        try await eventually("the claim to run out and the tick to be recorded") {
            _ = try firer.fire()
            return try Self.counts(ns, name).runs >= 1
        }
        let record = try #require(try control.schedule(name))
        let run = try #require(record.runs.last)
        // Recorded as the dead worker's run: same tick, same task, nothing counted missed for it.
        #expect(run.tick.milliseconds == firstTick && run.taskID == id)
        #expect(record.misses.allSatisfy { $0.from.milliseconds > firstTick })
        #expect(try Self.firedTicks(ns, queue: queue).filter { $0 == firstTick }.count == 1)
    }

    @Test func aStoreAfterItsClaimsHalfLifeIsRefusedAndStoresNothing() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let name = try #require(ScheduleName("stalled"))
        let tick = 1_796_644_800_000
        var submission = TaskSubmission(payload: .integer(1), queue: QueueName("late")!)
        submission.origin = ScheduleOrigin(schedule: name, tick: Timestamp(milliseconds: tick))
        let id = ScheduleFirer.taskID(for: name, tick: tick, queue: submission.queue)
        let request = EnqueueRequest(
            id: id, submission: submission, payload: "1",
            keys: [ns.keys.task(id), ns.keys.firedTick(submission.queue, name, tick: tick)],
            windowMilliseconds: 10_000, notAfterMilliseconds: try ns.redisClock() - 1)
        let reply = try ns.store.runEnqueue([request])
        #expect(reply.array?[1].string == "late")
        #expect(try ns.redis("EXISTS", ns.keys.task(id)).int == 0)
        #expect(try ns.redis("EXISTS", ns.keys.firedTick(submission.queue, name, tick: tick)).int == 0)
    }

    @Test func pausedForThreeTicksShowsThreeMissedUnderSkipAndFiresOnce() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let name = try #require(ScheduleName("paused"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        // Every two seconds: a pause of three ticks leaves two seconds to resume in, on a busy machine too.
        let definition = try Self.definition("*/2 * * * * *", queue: "paused-ticks")
        _ = try control.put(name, definition, now: Timestamp.now.milliseconds)
        let firer = ScheduleFirer(pool: ns.pool, keys: ns.keys, claimMilliseconds: 1000)
        try await eventually("a first run") {
            _ = try firer.fire()
            return try Self.counts(ns, name).runs == 1
        }
        let paused = try #require(try control.pause(name)?.pausedAt)
        let third = try #require(
            definition.upcoming(afterMilliseconds: paused.milliseconds, count: 3).last)
        try await eventually(timeout: 30, "three ticks to pass") {
            #expect(try firer.fire().claimed == 0)
            return try ns.redisClock() > third
        }
        _ = try control.resume(name)
        try await eventually("the pause to be counted") {
            _ = try firer.fire()
            return try Self.counts(ns, name).missed > 0
        }
        let record = try #require(try control.schedule(name))
        let miss = try #require(record.misses.first)
        // The ticks inside the pause, as the clock went: three, unless the resume came later than the fourth.
        let inside = definition.upcoming(afterMilliseconds: paused.milliseconds - 1, count: 10).filter {
            $0 < miss.recordedAt.milliseconds && $0 >= paused.milliseconds && $0 <= miss.to.milliseconds
        }
        #expect(miss.reason == .paused)
        #expect(miss.count == 3 || miss.count == inside.count)
        #expect(miss.count >= 3)
        #expect(miss.firedLate == 1)
        #expect(record.missedCount == miss.count)
        let ticks = try Self.firedTicks(ns, queue: QueueName("paused-ticks")!)
        // The first run, and the latest paused tick once.
        #expect(ticks.count == 2)
        #expect(ticks.contains(miss.to.milliseconds))
        #expect(record.runs.first?.kind == .late)
    }

    @Test func bufferOneHoldsOneTickWhileTheLastRunIsUnfinishedAndFiresItOnceItIs() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let name = try #require(ScheduleName("buffered"))
        let queue = try #require(QueueName("buffered-ticks"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        let definition = try ScheduleDefinition(
            cron: "* * * * * *", overlap: .bufferOne, task: TaskSubmission(payload: .integer(1), queue: queue))
        _ = try control.put(name, definition, now: Timestamp.now.milliseconds)
        let firer = ScheduleFirer(pool: ns.pool, keys: ns.keys, claimMilliseconds: 1000)
        try await eventually("a first run") {
            _ = try firer.fire()
            return try Self.counts(ns, name).runs == 1
        }
        // The first run's task stays pending (nobody claims it): the next tick is held, later ones are missed.
        try await eventually("a tick held back and one missed") {
            _ = try firer.fire()
            let record = try control.schedule(name)
            return record?.buffered != nil && (record?.missedCount ?? 0) >= 1
        }
        let held = try #require(try control.schedule(name)?.buffered)
        #expect(try Self.firedTicks(ns, queue: queue).count == 1)
        #expect(try control.schedule(name)?.misses.first?.reason == .overlap)
        // The run ends: the held tick fires (late), once.
        let claimed = try #require(try ns.store.claim(from: queue, blockMilliseconds: 0, leaseMilliseconds: 10_000))
        try ns.store.complete(claimed.lease, result: "done", retentionMilliseconds: 60_000)
        try await eventually("the held tick to fire") {
            _ = try firer.fire()
            return try Self.firedTicks(ns, queue: queue).contains(held.milliseconds)
        }
        let ticks = try Self.firedTicks(ns, queue: queue)
        #expect(ticks.filter { $0 == held.milliseconds }.count == 1)
        let record = try #require(try control.schedule(name))
        #expect(record.runs.first { $0.tick == held }?.kind == .late)
    }

    @Test func aRedisOutageIsA503AndTheTicksItSwallowedAreCountedMissedNotLostOrDoubled() async throws {
        let server = RedisServer(persistent: true)
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, commandTimeoutMilliseconds: 1_000)
        defer { fixture.stop(); server.stop() }
        let name = try #require(ScheduleName("outage"))
        let queue = try #require(QueueName("outage-ticks"))
        let put = try fixture.client.request(
            "PUT", "/schedules/outage", headers: ["Content-Type": "application/json"],
            body: Data(#"{"cron":"* * * * * *","task":{"queue":"outage-ticks","payload":1}}"#.utf8))
        #expect(put.status == 201)
        let firer = ScheduleFirer(pool: ns.pool, keys: ns.keys, claimMilliseconds: 1000)
        try await eventually("two runs") {
            _ = try firer.fire()
            return try Self.counts(ns, name).runs >= 2
        }
        server.stop()
        let stopped = Timestamp.now.milliseconds
        // Every schedule route answers 503 with a problem while Redis is away; the firer reports it unavailable.
        for (method, path) in [
            ("GET", "/schedules/outage"), ("GET", "/schedules"), ("POST", "/schedules/outage/pause"),
        ] {
            let response = try fixture.client.request(method, path)
            #expect(response.status == 503, "\(method) \(path): \(response.text)")
            #expect(response.header("content-type") == "application/problem+json")
        }
        #expect(throws: TaskStoreError.self) { try firer.fire() }
        // Two ticks pass with Redis down.
        try await eventually("two ticks to pass") { Timestamp.now.milliseconds > stopped + 2_500 }
        try server.restart()
        let runs = try Self.counts(ns, name).runs
        try await eventually("the schedule to fire again and count what it missed") {
            _ = try? firer.fire()
            let counts = try Self.counts(ns, name)
            return counts.runs > runs && counts.missed >= 1
        }
        try await eventually("the claim to be committed") { try ns.redis("ZCARD", ns.keys.schedulesFiring).int == 0 }
        let ticks = try Self.firedTicks(ns, queue: queue).sorted()
        let counts = try Self.counts(ns, name)
        #expect(Set(ticks).count == ticks.count)
        #expect(((ticks.last ?? 0) - (ticks.first ?? 0)) / 1000 + 1 == ticks.count + counts.missed)
        let record = try #require(try ScheduleControl(pool: ns.pool, keys: ns.keys).schedule(name))
        #expect(record.misses.contains { $0.reason == .outage })
    }

    @Test func deletingAScheduleStopsIt() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let doomed = try #require(ScheduleName("doomed"))
        let clock = try #require(ScheduleName("clock"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        let now = Timestamp.now.milliseconds
        _ = try control.put(doomed, try Self.definition("* * * * * *", queue: "doomed"), now: now)
        _ = try control.put(clock, try Self.definition("* * * * * *", queue: "clock"), now: now)
        let firer = ScheduleFirer(pool: ns.pool, keys: ns.keys, claimMilliseconds: 1000)
        try await eventually("both to run") {
            _ = try firer.fire()
            return try Self.counts(ns, doomed).runs >= 1 && Self.counts(ns, clock).runs >= 1
        }
        #expect(try control.delete(doomed))
        let stored = try Self.firedTicks(ns, queue: QueueName("doomed")!).count
        let runs = try Self.counts(ns, clock).runs
        // The other schedule's runs are the clock: three more ticks came and went.
        try await eventually("three more ticks") {
            _ = try firer.fire()
            return try Self.counts(ns, clock).runs >= runs + 3
        }
        #expect(try Self.firedTicks(ns, queue: QueueName("doomed")!).count == stored)
        #expect(try control.schedule(doomed) == nil)
        #expect(try ns.redis("ZSCORE", ns.keys.schedulesDue, "doomed").string == nil)
        #expect(try ns.redis("ZSCORE", ns.keys.schedulesFiring, "doomed").string == nil)
    }
}

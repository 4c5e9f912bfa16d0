import Foundation
import TaskgateCore
import Testing

/// Real `taskgate worker` processes firing one fast schedule: four at once fire each tick once; killed with
/// SIGKILL again and again while they fire, they lose no tick and double none.
@Suite(.dedicatedThreads) struct ScheduleWorkerProcessTests {
    /// A worker that fires schedules and serves a queue the schedule does not use, with a short claim.
    private static func worker(_ ns: TestNamespace) throws -> TaskgateProcess {
        try TaskgateProcess.worker(ns, exec: "true", extra: ["--queue", "idle", "--schedule-claim-seconds", "1"])
    }

    /// Every fired tick is unique, and every tick from the first fired to the last either fired or was counted
    /// missed: checked once no claim is open (every run committed or taken over).
    private static func checkExactlyOnce(_ ns: TestNamespace, _ name: ScheduleName, queue: QueueName) async throws {
        try await eventually(timeout: 30, "every claim to be committed") {
            try ns.redis("ZCARD", ns.keys.schedulesFiring).int == 0
        }
        let ticks = try ScheduleFiringTests.firedTicks(ns, queue: queue).sorted()
        let counts = try ScheduleFiringTests.counts(ns, name)
        #expect(Set(ticks).count == ticks.count, "a tick fired twice: \(ticks)")
        #expect(ticks.count == counts.runs)
        let span = ((ticks.last ?? 0) - (ticks.first ?? 0)) / 1000 + 1
        #expect(span == ticks.count + counts.missed, "ticks \(ticks), missed \(counts.missed)")
    }

    @Test func fourWorkerProcessesFireEachTickOnce() async throws {
        let ns = TestNamespace()
        let workers = try (0..<4).map { _ in try Self.worker(ns) }
        defer { workers.forEach { $0.stop() }; ns.cleanUp() }
        let name = try #require(ScheduleName("every-second"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        let definition = try ScheduleDefinition(
            cron: "* * * * * *", task: TaskSubmission(payload: .integer(1), queue: QueueName("ticks")!))
        _ = try control.put(name, definition, now: Timestamp.now.milliseconds)
        try await eventually(timeout: 60, "ten runs") { try ScheduleFiringTests.counts(ns, name).runs >= 10 }
        #expect(try control.pause(name) != nil)
        try await Self.checkExactlyOnce(ns, name, queue: QueueName("ticks")!)
        #expect(workers.allSatisfy { $0.process.isRunning })
    }

    @Test func workersKilledWhileTheyFireLoseNoTickAndDoubleNone() async throws {
        let ns = TestNamespace()
        var workers = try (0..<4).map { _ in try Self.worker(ns) }
        defer { workers.forEach { $0.stop() }; ns.cleanUp() }
        let name = try #require(ScheduleName("killed-often"))
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys)
        let definition = try ScheduleDefinition(
            cron: "* * * * * *", task: TaskSubmission(payload: .integer(1), queue: QueueName("survivor")!))
        _ = try control.put(name, definition, now: Timestamp.now.milliseconds)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<8 {
            let runs = try ScheduleFiringTests.counts(ns, name).runs
            // Kill at the moment a run lands: the other workers are in or near a pass of their own.
            try await eventually(timeout: 30, "run \(runs + 1) (round \(round))") {
                try ScheduleFiringTests.counts(ns, name).runs > runs
            }
            let victim = Int.random(in: 0..<workers.count, using: &generator)
            workers[victim].signal(SIGKILL)
            _ = try await workers[victim].waitForExit()
            workers[victim] = try Self.worker(ns)
        }
        let runs = try ScheduleFiringTests.counts(ns, name).runs
        try await eventually(timeout: 30, "runs after the last kill") {
            try ScheduleFiringTests.counts(ns, name).runs >= runs + 2
        }
        #expect(try control.pause(name) != nil)
        try await Self.checkExactlyOnce(ns, name, queue: QueueName("survivor")!)
    }
}

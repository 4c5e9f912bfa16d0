import Foundation
import TaskgateCore
import TaskgateRedis
import Testing

/// Leases, attempt tokens and recovery, on the store itself against a real Redis.
@Suite(.dedicatedThreads) struct LeaseTests {
    @Test func aClaimHoldsAFreshTokenAndALeaseThatHeartbeatsExtend() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        let before = try ns.redisClock()
        let claimed = try #require(try ns.store.claim(leaseMilliseconds: 5_000))
        #expect(claimed.lease.id == record.id)
        #expect(claimed.lease.token.utf8.count == 32)
        #expect(try ns.redis("HGET", ns.keys.task(record.id), "token").string == claimed.lease.token)
        let deadline = try #require(try ns.leaseDeadline(record.id))
        let after = try ns.redisClock()
        #expect(deadline >= before + 5_000 && deadline <= after + 5_000)

        #expect(try ns.store.extend([claimed.lease], leaseMilliseconds: 60_000).isEmpty)
        let extended = try #require(try ns.leaseDeadline(record.id))
        #expect(extended >= before + 60_000)
        let forged = Lease.fresh(for: record.id)
        #expect(try ns.store.extend([claimed.lease, forged], leaseMilliseconds: 60_000) == [forged])
    }

    @Test func anExpiredLeaseIsRecoveredAsAFailedAttemptAndTheStaleWorkerIsRefused() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null, maxRetries: 3))
        let stale = try #require(try ns.store.claim(leaseMilliseconds: 100))
        // A live lease is left alone by recovery.
        #expect(try recover(ns) == Recovery())
        try await ns.awaitRedisClock(past: try #require(try ns.leaseDeadline(record.id)))

        #expect(try recover(ns) == Recovery(retried: 1, deadLettered: 0, unclaimed: 0, dropped: 0))
        let recovered = try #require(try ns.store.task(record.id))
        #expect(recovered.state == .pending)
        #expect(recovered.attempts == 1)
        #expect(recovered.retries == 1)
        #expect(recovered.lastError?.contains("worker lost") == true)
        #expect(try ns.leaseDeadline(record.id) == nil)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)

        let current = try #require(try ns.store.claim())
        #expect(current.record.attempts == 2)
        #expect(current.lease.token != stale.lease.token)
        let held = try #require(try ns.store.task(record.id))

        // The stale worker wakes up: every report it makes is refused and the record stays as it was.
        for report in staleReports(stale.lease, ns.store) {
            let error = #expect(throws: TaskStoreError.self) { try report() }
            #expect(error?.code == .leaseLost)
            #expect(try ns.store.task(record.id) == held)
        }
        #expect(try ns.store.extend([stale.lease], leaseMilliseconds: 60_000) == [stale.lease])
        #expect(try ns.store.task(record.id) == held)

        try ns.store.complete(current.lease, result: "second", retentionMilliseconds: 60_000)
        let finished = try #require(try ns.store.task(record.id))
        #expect(finished.state == .succeeded)
        #expect(finished.result == "second")
        #expect(finished.retries == 1)
    }

    @Test func anExpiredLeaseWithNoRetriesLeftIsDeadLettered() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null, maxRetries: 0))
        _ = try #require(try ns.store.claim(leaseMilliseconds: 50))
        try await ns.awaitRedisClock(past: try #require(try ns.leaseDeadline(record.id)))
        #expect(try recover(ns).deadLettered == 1)
        let dead = try #require(try ns.store.task(record.id))
        #expect(dead.state == .dead)
        #expect(dead.attempts == 1)
        #expect(dead.retries == 0)
        #expect(dead.lastError?.contains("worker lost") == true)
        #expect(try ns.redis("ZSCORE", ns.keys.dead(.default), record.id.rawValue).string != nil)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
    }

    @Test func aClaimThatNeverGotALeaseGoesBackAfterTheGraceUnchanged() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        // A worker that dies right after BLMOVE, before the start script: the id sits in active, still pending.
        _ = try ns.redis("LMOVE", ns.keys.pending(.default), ns.keys.active(.default), "RIGHT", "LEFT")

        #expect(try recover(ns, grace: 200) == Recovery())
        let seen = try #require(try ns.redis("HGET", ns.keys.unleased(.default), record.id.rawValue).int)
        #expect(try recover(ns, grace: 200) == Recovery())
        try await ns.awaitRedisClock(past: seen + 200)
        #expect(try recover(ns, grace: 200) == Recovery(retried: 0, deadLettered: 0, unclaimed: 1, dropped: 0))

        let back = try #require(try ns.store.task(record.id))
        #expect(back.state == .pending)
        #expect(back.attempts == 0)
        #expect(back.retries == 0)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.redis("HLEN", ns.keys.unleased(.default)).int == 0)
        #expect(try ns.store.claim()?.record.id == record.id)
    }

    @Test func aClaimStartedDuringTheGraceIsNotTakenBack() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        // The slow worker: moved, seen without a lease by a recovery pass, then started.
        _ = try ns.redis("LMOVE", ns.keys.pending(.default), ns.keys.active(.default), "RIGHT", "LEFT")
        #expect(try recover(ns, grace: 100) == Recovery())
        let seen = try #require(try ns.redis("HGET", ns.keys.unleased(.default), record.id.rawValue).int)
        _ = try ns.redis("LREM", ns.keys.active(.default), 1, record.id.rawValue)
        _ = try ns.redis("RPUSH", ns.keys.pending(.default), record.id.rawValue)
        // A lease far longer than the test: what is checked is the unleased grace, not the lease (a 10 s lease
        // expired once while a loaded CI machine ran the suite, and recovery rightly took the task back).
        let claimed = try #require(try ns.store.claim(leaseMilliseconds: 600_000))
        #expect(claimed.record.id == record.id)
        _ = try ns.redis("LPUSH", ns.keys.active(.default), "placeholder-not-an-id")
        try await ns.awaitRedisClock(past: seen + 100)

        let recovery = try recover(ns, grace: 100)
        #expect(recovery.recovered == 0)
        #expect(recovery.dropped == 1)  // the placeholder, which is no task id
        #expect(try ns.store.task(record.id)?.state == .active)
        try ns.store.complete(claimed.lease, result: "ok", retentionMilliseconds: 60_000)
    }

    @Test func aStrayIDOfAFinishedTaskInTheActiveListIsDropped() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        let claimed = try #require(try ns.store.claim())
        try ns.store.complete(claimed.lease, result: "ok", retentionMilliseconds: 60_000)
        _ = try ns.redis("LPUSH", ns.keys.active(.default), record.id.rawValue)
        #expect(try recover(ns).dropped == 1)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.store.task(record.id)?.state == .succeeded)
    }

    @Test func manyRecoverersAtOnceRecoverEachTaskOnce() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let records = try (0..<20).map { _ in try ns.store.enqueue(TaskSubmission(payload: .null, maxRetries: 5)) }
        for _ in records { _ = try #require(try ns.store.claim(leaseMilliseconds: 50)) }
        let latest = try records.compactMap { try ns.leaseDeadline($0.id) }.max() ?? 0
        try await ns.awaitRedisClock(past: latest)

        let passes = try await withThrowingTaskGroup(of: Recovery.self) { group in
            for _ in 0..<8 {
                let store = RedisTaskStore(pool: ns.pool, keys: ns.keys)
                group.addTask { try recover(ns, store: store) }
            }
            return try await group.reduce(into: [Recovery]()) { $0.append($1) }
        }
        #expect(passes.map(\.retried).reduce(0, +) == records.count)
        for record in records {
            let recovered = try #require(try ns.store.task(record.id))
            #expect(recovered.retries == 1)
            #expect(recovered.state == .pending)
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == records.count)
    }

    private func recover(_ ns: TestNamespace, grace: Int = 10_000, store: RedisTaskStore? = nil) throws -> Recovery {
        try (store ?? ns.store).recover(
            in: .default, limit: 100, unleasedGraceMilliseconds: grace, retentionMilliseconds: 60_000)
    }

    private func staleReports(_ lease: Lease, _ store: RedisTaskStore) -> [() throws -> Void] {
        [
            { try store.complete(lease, result: "stale", retentionMilliseconds: 60_000) },
            { _ = try store.fail(lease, error: "stale", backoffMilliseconds: 0, retentionMilliseconds: 60_000) },
            { try store.requeue(lease) },
        ]
    }
}

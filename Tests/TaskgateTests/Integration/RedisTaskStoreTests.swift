import TaskgateCore
import TaskgateRedis
import Testing

@Suite(.dedicatedThreads) struct RedisTaskStoreTests {
    @Test func enqueueStoresTheRecordAndPushesInOneStep() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .string("task1"), type: "mail"))
        #expect(record.state == .pending)
        #expect(
            try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1) == .array([.bulk(Array(record.id.rawValue.utf8))]))
        #expect(try ns.redis("HGET", ns.keys.task(record.id), "payload").string == "\"task1\"")
        let stored = try #require(try ns.store.task(record.id))
        #expect(stored == record)
    }

    @Test func delayedTasksGoToTheScheduledSet() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null, delayMilliseconds: 60_000))
        #expect(record.state == .scheduled)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
        let score = try #require(try ns.redis("ZSCORE", ns.keys.scheduled(.default), record.id.rawValue).string)
        #expect(Int(Double(score)!) == record.runAt?.milliseconds)
        #expect(record.runAt!.milliseconds - record.createdAt.milliseconds == 60_000)
        #expect(try ns.store.promoteDue(in: .default, limit: 100).promoted == 0)
    }

    @Test func retriesWaitInASetOfTheirOwnAndBothSetsArePromotedOldestFirst() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let retried = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        let claimed = try #require(try ns.store.claim())
        let outcome = try ns.store.fail(
            claimed.lease, error: "later", backoffMilliseconds: 50, retentionMilliseconds: 60_000)
        guard case .retrying(_, let runAt) = outcome else { throw TestFailure("not retrying: \(outcome)") }
        #expect(try ns.redis("ZSCORE", ns.keys.retrying(.default), retried.id.rawValue).string != nil)
        #expect(try ns.redis("ZCARD", ns.keys.scheduled(.default)).int == 0)
        // A retry scheduled by a version before the split waits in the scheduled set: it is promoted as well.
        let legacy = try ns.store.enqueue(TaskSubmission(payload: .integer(2), delayMilliseconds: 60_000))
        _ = try ns.redis("ZADD", ns.keys.scheduled(.default), runAt.milliseconds - 10, legacy.id.rawValue)
        try await ns.awaitRedisClock(past: runAt.milliseconds)
        #expect(try ns.store.promoteDue(in: .default, limit: 100).promoted == 2)
        // Oldest due first: the legacy one was due 10 ms earlier, so it is claimed first.
        #expect(
            try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array?.compactMap(\.string)
                == [retried.id.rawValue, legacy.id.rawValue])
        #expect(try ns.redis("ZCARD", ns.keys.retrying(.default)).int == 0)
    }

    @Test func claimCompleteAndRetention() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        let claimed = try #require(try ns.store.claim())
        #expect(claimed.record.id == record.id)
        #expect(claimed.record.state == .active)
        #expect(claimed.record.attempts == 1)
        // Held under a lease; the active list only covers the blocking path's move-then-start window.
        #expect(try ns.leaseDeadline(record.id) != nil)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        try ns.store.complete(claimed.lease, result: "done", retentionMilliseconds: 60_000)
        let finished = try #require(try ns.store.task(record.id))
        #expect(finished.state == .succeeded)
        #expect(finished.result == "done")
        #expect(finished.finishedAt != nil)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        let ttl = try #require(try ns.redis("PTTL", ns.keys.task(record.id)).int)
        #expect(ttl > 0 && ttl <= 60_000)
        #expect(try ns.leaseDeadline(record.id) == nil)
        #expect(throws: TaskStoreError.self) {
            try ns.store.complete(claimed.lease, result: "again", retentionMilliseconds: 60_000)
        }
        #expect(try ns.store.task(record.id)?.result == "done")
    }

    @Test func resultsAreJSONValuesAndOldTextResultsReadAsStrings() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        let claimed = try #require(try ns.store.claim())
        let value = TaskResult(try JSONValue.parse(#"{"size": [640, 480], "ok": true}"#))
        try ns.store.complete(claimed.lease, result: value, retentionMilliseconds: 60_000)
        let finished = try #require(try ns.store.task(record.id))
        #expect(finished.result?.json == #"{"size":[640,480],"ok":true}"#)
        #expect(String(decoding: finished.json, as: UTF8.self).contains(#""result":{"size":[640,480],"ok":true}"#))
        #expect(try ns.redis("HGET", ns.keys.task(record.id), "value").string == #"{"size":[640,480],"ok":true}"#)

        // A record an earlier version finished: its text result, which may look like JSON, stays that text.
        _ = try ns.redis("HDEL", ns.keys.task(record.id), "value")
        _ = try ns.redis("HSET", ns.keys.task(record.id), "result", #"{"echo":1}"#)
        let legacy = try #require(try ns.store.task(record.id))
        #expect(legacy.result == .string(#"{"echo":1}"#))
        #expect(String(decoding: legacy.json, as: UTF8.self).contains(#""result":"{\"echo\":1}""#))
    }

    @Test func claimWaitsAndReturnsNilWhenEmpty() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        #expect(try ns.store.claim(from: .default, blockMilliseconds: 50, leaseMilliseconds: 1000) == nil)
    }

    /// A new task's hash holds only what does not repeat a default; reading it back fills the defaults in.
    @Test func aNewTaskHashLeavesDefaultsOut() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let now = try ns.store.enqueue(TaskSubmission(payload: .null, type: "t"))
        let later = try ns.store.enqueue(
            TaskSubmission(payload: .null, delayMilliseconds: 60_000, timeoutMilliseconds: 2000))
        func fieldNames(_ record: TaskRecord) throws -> Set<String> {
            Set(try ns.redis("HKEYS", ns.keys.task(record.id)).array?.compactMap(\.string) ?? [])
        }
        #expect(try fieldNames(now) == ["id", "type", "payload", "state", "max_retries", "created_at", "seq"])
        #expect(
            try fieldNames(later)
                == ["id", "type", "payload", "state", "max_retries", "created_at", "seq", "run_at", "timeout"])
        let stored = try #require(try ns.store.task(now.id))
        #expect(stored == now)
        #expect(stored.retries == 0 && stored.attempts == 0 && stored.runAt == stored.createdAt)
        #expect(try ns.store.task(later.id) == later)
    }

    /// The batched claim reads only some fields back; the record it builds must be the stored one, field for field.
    @Test func aClaimedRecordIsTheStoredRecord() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let submission = TaskSubmission(
            payload: try JSONValue.parse(#"{"to":"ada@example.com","n":[1,2.5]}"#), type: "mail/send",
            maxRetries: 3, timeoutMilliseconds: 1500)
        let record = try ns.store.enqueue(submission)
        let first = try #require(try ns.store.claimBatch(from: .default, max: 4, leaseMilliseconds: 10_000).first)
        #expect(first.record == (try ns.store.task(record.id)))
        #expect(
            first.record.attempts == 1 && first.record.type == "mail/send" && first.record.timeoutMilliseconds == 1500)

        // Again after a failed attempt, when retries, last_error and run_at have changed.
        _ = try ns.store.fail(first.lease, error: "smtp down", backoffMilliseconds: 1, retentionMilliseconds: 60_000)
        try await eventually("the retry to be due") {
            try ns.store.promoteDue(in: .default, limit: 10).promoted == 1
        }
        let second = try #require(try ns.store.claimBatch(from: .default, max: 4, leaseMilliseconds: 10_000).first)
        let stored = try #require(try ns.store.task(record.id))
        #expect(second.record == stored)
        #expect(stored.attempts == 2 && stored.retries == 1 && stored.lastError == "smtp down")
    }

    /// The claim pops ids before it reads their records; an id whose record cannot be read must still end
    /// up somewhere (the dead set), and must not stop the ids around it from being claimed.
    @Test func aClaimPutsAnUnreadableTaskInTheDeadSetAndClaimsTheOthers() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let first = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        let broken = try ns.store.enqueue(TaskSubmission(payload: .integer(2)))
        let last = try ns.store.enqueue(TaskSubmission(payload: .integer(3)))
        _ = try ns.redis("DEL", ns.keys.task(broken.id))
        _ = try ns.redis("SET", ns.keys.task(broken.id), "not a hash")

        let claimed = try ns.store.claimBatch(from: .default, max: 3, leaseMilliseconds: 10_000)
        #expect(claimed.map(\.record.id) == [first.id, last.id])
        #expect(try ns.redis("ZSCORE", ns.keys.dead(.default), broken.id.rawValue).string != nil)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
        for task in claimed { #expect(try ns.leaseDeadline(task.record.id) != nil) }
    }

    @Test func aClaimThatWaitedLeasesTheTaskAndLeavesTheActiveList() async throws {
        // A server of its own, so that the blocked client seen below can only be this test's claim.
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let store = ns.store
        let waiting = Task {
            try await offThePool {
                try store.claim(from: .default, blockMilliseconds: 10_000, leaseMilliseconds: 10_000)
            }
        }
        // Only once the claim is blocked in BLMOVE does the task arrive, so it takes the move-then-start path.
        try await eventually("the claim to block in BLMOVE") {
            let clients = try ns.redis("CLIENT", "LIST").string ?? ""
            return clients.contains("cmd=blmove")
        }
        let record = try ns.store.enqueue(TaskSubmission(payload: .string("late")))
        let claimed = try #require(try await waiting.value)
        #expect(claimed.record.id == record.id)
        #expect(claimed.record.state == .active)
        #expect(try ns.leaseDeadline(record.id) != nil)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.redis("HEXISTS", ns.keys.unleased(.default), record.id.rawValue).int == 0)
    }

    @Test func failureRetriesThenDeadLetters() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null, maxRetries: 2))
        for expected in 1...2 {
            let claimed = try #require(try ns.store.claim())
            let outcome = try ns.store.fail(
                claimed.lease, error: "boom \(expected)", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
            guard case .retrying(let retries, _) = outcome else {
                Issue.record("expected retrying, got \(outcome)")
                return
            }
            #expect(retries == expected)
            #expect(try ns.store.task(record.id)?.state == .retrying)
            #expect(try ns.store.promoteDue(in: .default, limit: 100).promoted == 1)
            #expect(try ns.store.task(record.id)?.state == .pending)
        }
        let last = try #require(try ns.store.claim())
        #expect(
            try ns.store.fail(last.lease, error: "final", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
                == .dead(retries: 2))
        let dead = try #require(try ns.store.task(record.id))
        #expect(dead.state == .dead)
        #expect(dead.retries == 2)
        #expect(dead.attempts == 3)
        #expect(dead.lastError == "final")
        #expect(try ns.redis("ZSCORE", ns.keys.dead(.default), record.id.rawValue).string != nil)
        #expect(try ns.redis("ZCARD", ns.keys.scheduled(.default)).int == 0)
        #expect(try ns.redis("ZCARD", ns.keys.retrying(.default)).int == 0)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.redis("PTTL", ns.keys.task(record.id)).int ?? 0 > 0)
    }

    @Test func failingATaskThatIsNotHeldChangesNothing() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        let forged = Lease.fresh(for: record.id)
        let error = #expect(throws: TaskStoreError.self) {
            try ns.store.fail(forged, error: "x", backoffMilliseconds: 0, retentionMilliseconds: 1000)
        }
        #expect(error?.code == .leaseLost)
        #expect(try ns.store.task(record.id) == record)
    }

    @Test func requeuePutsTheTaskNextInLine() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let first = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        let second = try ns.store.enqueue(TaskSubmission(payload: .integer(2)))
        let claimed = try #require(try ns.store.claim())
        #expect(claimed.record.id == first.id)
        try ns.store.requeue(claimed.lease)
        #expect(try ns.store.task(first.id)?.state == .pending)
        #expect(try ns.leaseDeadline(first.id) == nil)
        #expect(try ns.store.claim()?.record.id == first.id)
        #expect(try ns.store.claim()?.record.id == second.id)
    }

    @Test func promotionMovesOnlyDueTasks() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let due = try ns.store.enqueue(TaskSubmission(payload: .null, delayMilliseconds: 1))
        let later = try ns.store.enqueue(TaskSubmission(payload: .null, delayMilliseconds: 3_600_000))
        try awaitRedisTime(after: due.runAt!, ns)
        let promotion = try ns.store.promoteDue(in: .default, limit: 100)
        #expect(promotion.promoted == 1)
        #expect((promotion.nextDueInMilliseconds ?? 0) > 3_000_000)
        #expect(try ns.store.task(due.id)?.state == .pending)
        #expect(try ns.store.task(later.id)?.state == .scheduled)
        #expect(try ns.store.claim()?.record.id == due.id)
    }

    @Test func scriptsReloadAfterScriptFlush() throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let store = ns.store
        _ = try store.enqueue(TaskSubmission(payload: .null))
        _ = try ns.redis("SCRIPT", "FLUSH")
        let record = try store.enqueue(TaskSubmission(payload: .null))
        #expect(try store.task(record.id) != nil)
    }

    @Test func aRecordWithoutItsListEntryIsDroppedAtClaim() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        _ = try ns.redis("DEL", ns.keys.task(record.id))
        #expect(try ns.store.claim() == nil)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
    }

    @Test func aStrayIDOfAFinishedTaskIsNotRunAgain() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        let claimed = try #require(try ns.store.claim())
        try ns.store.complete(claimed.lease, result: "once", retentionMilliseconds: 60_000)
        _ = try ns.redis("LPUSH", ns.keys.pending(.default), record.id.rawValue)
        #expect(try ns.store.claim() == nil)
        let finished = try #require(try ns.store.task(record.id))
        #expect(finished.state == .succeeded)
        #expect(finished.attempts == 1)
        #expect(finished.result == "once")
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
    }

    /// Waits until Redis's own clock has passed `timestamp` (scripts use Redis TIME).
    private func awaitRedisTime(after timestamp: Timestamp, _ ns: TestNamespace) throws {
        let connection = try ns.server.connect()
        while true {
            let time = try connection.send(RedisCommand("TIME")).array ?? []
            let now = (time.first?.int ?? 0) * 1000 + (time.last?.int ?? 0) / 1000
            if now > timestamp.milliseconds { return }
        }
    }
}

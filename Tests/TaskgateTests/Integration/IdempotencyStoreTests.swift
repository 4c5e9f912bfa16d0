import TaskgateCore
import TaskgateRedis
import Testing

/// Idempotency keys on the store: one task per key and content, atomically.
@Suite(.dedicatedThreads) struct IdempotencyStoreTests {
    @Test func theSameKeyAndContentReturnsTheFirstTaskAndQueuesNothing() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let key = try #require(IdempotencyKey("order-42"))
        let submission = TaskSubmission(payload: .string("mail"), type: "email")
        guard case .created(let first) = try enqueue(ns, submission, key) else {
            Issue.record("the first submission did not create a task")
            return
        }
        #expect(try enqueue(ns, submission, key) == .replayed(first))
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
        let ttl = try #require(try ns.redis("PTTL", ns.keys.idempotency(.default, key)).int)
        #expect(ttl > 0 && ttl <= 60_000)
    }

    @Test func theSameKeyWithOtherContentIsRefused() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let key = try #require(IdempotencyKey("order-43"))
        guard case .created(let first) = try enqueue(ns, TaskSubmission(payload: .integer(1)), key) else {
            Issue.record("the first submission did not create a task")
            return
        }
        for other in [
            TaskSubmission(payload: .integer(2)), TaskSubmission(payload: .integer(1), type: "x"),
            TaskSubmission(payload: .integer(1), maxRetries: 1),
            TaskSubmission(payload: .integer(1), delayMilliseconds: 5),
        ] {
            #expect(try enqueue(ns, other, key) == .keyReused(existing: first.id))
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
        #expect(try ns.redis("ZCARD", ns.keys.scheduled(.default)).int == 0)
    }

    @Test func concurrentRequestsWithOneKeyCreateOneTask() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let key = try #require(IdempotencyKey("burst"))
        let outcomes = try await withThrowingTaskGroup(of: EnqueueOutcome.self) { group in
            for _ in 0..<16 {
                let store = RedisTaskStore(pool: ns.pool, keys: ns.keys)
                group.addTask { try enqueue(ns, TaskSubmission(payload: .null), key, store: store) }
            }
            return try await group.reduce(into: [EnqueueOutcome]()) { $0.append($1) }
        }
        let created = outcomes.compactMap { outcome -> TaskID? in
            if case .created(let record) = outcome { return record.id }
            return nil
        }
        let replayed = outcomes.compactMap { outcome -> TaskID? in
            if case .replayed(let record) = outcome { return record.id }
            return nil
        }
        #expect(created.count == 1)
        #expect(replayed.count == 15)
        #expect(Set(created + replayed).count == 1)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }

    @Test func aKeyIsScopedToItsQueue() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let key = try #require(IdempotencyKey("shared"))
        let mail = try #require(QueueName("mail"))
        guard case .created(let a) = try enqueue(ns, TaskSubmission(payload: .null), key),
            case .created(let b) = try enqueue(ns, TaskSubmission(payload: .null, queue: mail), key)
        else {
            Issue.record("each queue should create its own task")
            return
        }
        #expect(a.id != b.id)
    }

    @Test func aReplayAfterTheTaskExpiredSaysSo() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let key = try #require(IdempotencyKey("gone"))
        guard case .created(let first) = try enqueue(ns, TaskSubmission(payload: .null), key) else {
            Issue.record("the first submission did not create a task")
            return
        }
        _ = try ns.redis("DEL", ns.keys.task(first.id))
        #expect(try enqueue(ns, TaskSubmission(payload: .null), key) == .replayedExpired(first.id))
    }

    @Test func keysAreValidated() {
        #expect(IdempotencyKey("") == nil)
        #expect(IdempotencyKey("has space") == nil)
        #expect(IdempotencyKey("tab\there") == nil)
        #expect(IdempotencyKey("é") == nil)
        #expect(IdempotencyKey(String(repeating: "k", count: 256)) == nil)
        #expect(IdempotencyKey(String(repeating: "k", count: 255)) != nil)
        #expect(IdempotencyKey("{other}:pending") != nil)
        let keys = KeySpace.standard
        // Whatever the key holds, its Redis key stays in the queue's slot, under its own kind of key.
        #expect(keys.idempotency(.default, IdempotencyKey("}{x}")!) == "taskgate:{default}:idempotency:}{x}")
    }

    private func enqueue(
        _ ns: TestNamespace, _ submission: TaskSubmission, _ key: IdempotencyKey, store: RedisTaskStore? = nil
    ) throws -> EnqueueOutcome {
        try (store ?? ns.store).enqueue(submission, idempotencyKey: key, idempotencyWindowMilliseconds: 60_000)
    }
}

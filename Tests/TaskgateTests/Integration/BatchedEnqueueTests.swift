import TaskgateRedis
import Testing

@testable import TaskgateCore

/// One enqueue script call for many tasks: each is stored as it would be alone, in order, and a resent call
/// (after a broken connection) writes nothing twice.
@Suite(.dedicatedThreads) struct BatchedEnqueueTests {
    @Test func oneCallStoresEachTaskAsItWouldBeStoredAlone() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let store = ns.store
        let key = try #require(IdempotencyKey("order-1"))
        let window = 60_000
        func request(_ submission: TaskSubmission, key: IdempotencyKey? = nil) -> EnqueueRequest {
            store.enqueueRequest(submission, idempotencyKey: key, idempotencyWindowMilliseconds: window)
        }
        let requests = [
            request(TaskSubmission(payload: .string("first"))),
            request(TaskSubmission(payload: .string("later"), delayMilliseconds: 60_000)),
            request(TaskSubmission(payload: .string("keyed")), key: key),
            request(TaskSubmission(payload: .string("keyed")), key: key),  // same content: a replay
            request(TaskSubmission(payload: .string("other")), key: key),  // same key, other content
            request(TaskSubmission(payload: .string("last"), timeoutMilliseconds: 1500)),
        ]
        let call = store.enqueueCall(requests)
        let run = { () throws -> [EnqueueOutcome] in
            let reply = try ns.pool.withConnection { connection throws(RedisError) in
                try TaskScripts.enqueue.run(on: connection, keys: call.keys, arguments: call.arguments)
            }
            return try requests.indices.map { try store.enqueueOutcome(reply, index: $0, for: requests[$0]) }
        }

        let outcomes = try run()
        guard case .created(let first) = outcomes[0], case .created(let later) = outcomes[1],
            case .created(let keyed) = outcomes[2], case .replayed(let replayed) = outcomes[3],
            case .keyReused(let holder) = outcomes[4], case .created(let last) = outcomes[5]
        else {
            Issue.record("unexpected outcomes \(outcomes)")
            return
        }
        #expect(later.state == .scheduled)
        #expect(replayed == keyed)
        #expect(holder == keyed.id)
        for record in [first, later, keyed, last] {
            #expect(try store.task(record.id) == record)
        }
        // Ready tasks are pending in the order they came, the delayed one is scheduled, the refused ones
        // left nothing behind.
        let pending = try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array?.compactMap(\.string)
        #expect(pending == [last, keyed, first].map(\.id.rawValue))
        #expect(try ns.redis("ZSCORE", ns.keys.scheduled(.default), later.id.rawValue).string != nil)
        for index in [3, 4] {
            #expect(try ns.redis("EXISTS", ns.keys.task(requests[index].id)).int == 0)
        }

        // The same call again, as after a broken connection: every task exists, nothing is written twice.
        let again = try run()
        #expect(again[0] == .created(first))
        #expect(again[2] == .created(keyed))
        #expect(again[5] == .created(last))
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 3)
        #expect(try ns.redis("ZCARD", ns.keys.scheduled(.default)).int == 1)
    }

    @Test func aTaskThatFailsInACallFailsAloneAndTheOthersAreStored() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let store = ns.store
        // A key of the wrong type where the middle task's idempotency record belongs makes its commands fail.
        let broken = try #require(IdempotencyKey("broken"))
        _ = try ns.redis("SET", ns.keys.idempotency(.default, broken), "not a hash")
        let requests = [
            store.enqueueRequest(
                TaskSubmission(payload: .integer(1)), idempotencyKey: nil, idempotencyWindowMilliseconds: 0),
            store.enqueueRequest(
                TaskSubmission(payload: .integer(2)), idempotencyKey: broken, idempotencyWindowMilliseconds: 60_000),
            store.enqueueRequest(
                TaskSubmission(payload: .integer(3)), idempotencyKey: nil, idempotencyWindowMilliseconds: 0),
        ]
        let call = store.enqueueCall(requests)
        let reply = try ns.pool.withConnection { connection throws(RedisError) in
            try TaskScripts.enqueue.run(on: connection, keys: call.keys, arguments: call.arguments)
        }
        let outcomes = requests.indices.map { index in
            Result { () throws(TaskStoreError) in try store.enqueueOutcome(reply, index: index, for: requests[index]) }
        }
        guard case .success(.created(let first)) = outcomes[0], case .failure(let error) = outcomes[1],
            case .success(.created(let third)) = outcomes[2]
        else {
            Issue.record("unexpected outcomes \(outcomes)")
            return
        }
        #expect(error.message.contains("WRONGTYPE"))
        #expect(try ns.redis("EXISTS", ns.keys.task(requests[1].id)).int == 0)
        let pending = try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array?.compactMap(\.string)
        #expect(pending == [third.id.rawValue, first.id.rawValue])
    }
}

import TaskgateRedis
import Testing

@testable import TaskgateCore

/// One completeMany call for many tasks: each is checked and completed as alone, and one that fails fails alone.
@Suite(.dedicatedThreads) struct BatchedCompleteTests {
    @Test func aTaskThatFailsInACallFailsAloneAndTheOthersComplete() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        for n in 1...3 { _ = try ns.store.enqueue(TaskSubmission(payload: .integer(n))) }
        let claimed = try ns.store.claimBatch(from: .default, max: 3, leaseMilliseconds: 10_000)
        try #require(claimed.count == 3)
        // The middle task's record is replaced by a value of the wrong type; the last one's lease is stale.
        let broken = claimed[1].lease
        _ = try ns.redis("DEL", ns.keys.task(broken.id))
        _ = try ns.redis("SET", ns.keys.task(broken.id), "not a hash")
        let stale = Lease(id: claimed[2].lease.id, token: Lease.freshToken())
        let leases = [claimed[0].lease, broken, stale]

        let call = RedisTaskStore.completeManyCall(
            leases.map { ($0, "ok") }, queue: .default, keys: ns.keys, retentionMilliseconds: 60_000)
        let (keys, arguments) = (call.keys, call.arguments)
        let reply = try ns.pool.withConnection { connection throws(RedisError) in
            try TaskScripts.completeMany.run(on: connection, keys: keys, arguments: arguments)
        }
        let outcomes = try #require(reply.array)
        #expect(outcomes.count == 3)
        #expect(outcomes[0].int == 1)
        #expect(outcomes[1].string?.contains("WRONGTYPE") == true)
        #expect(outcomes[2].int == 0)
        #expect(try ns.store.task(claimed[0].record.id)?.state == .succeeded)
        #expect(try ns.leaseDeadline(claimed[0].record.id) == nil)
        #expect(try ns.store.task(claimed[2].record.id)?.state == .active)
    }
}

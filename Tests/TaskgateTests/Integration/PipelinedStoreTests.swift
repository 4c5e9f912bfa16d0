import Foundation
import Synchronization
import TaskgateCore
import TaskgateRedis
import Testing

/// The store with a pipeline: callers on many threads share round trips, and every guarantee holds.
@Suite(.dedicatedThreads) struct PipelinedStoreTests {
    @Test func concurrentClaimsAndAcknowledgementsRunEachTaskOnce() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let pipeline = RedisPipeline(configuration: ns.server.configuration, label: "test.pipeline")
        pipeline.start()
        defer { pipeline.stop() }
        let store = RedisTaskStore(pool: ns.pool, keys: ns.keys, pipeline: pipeline)
        let records = try (0..<300).map { _ in try ns.store.enqueue(TaskSubmission(payload: .null)) }

        let claimed = try await withThrowingTaskGroup(of: [TaskID].self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await offThePool {
                        var mine: [TaskID] = []
                        while let task = try store.claim(
                            from: .default, blockMilliseconds: 50, leaseMilliseconds: 10_000)
                        {
                            try store.complete(task.lease, result: "ok", retentionMilliseconds: 60_000)
                            mine.append(task.record.id)
                        }
                        return mine
                    }
                }
            }
            return try await group.reduce(into: [TaskID]()) { $0 += $1 }
        }
        #expect(claimed.count == records.count)
        #expect(Set(claimed) == Set(records.map(\.id)))
        for record in records {
            let finished = try #require(try ns.store.task(record.id))
            #expect(finished.state == .succeeded)
            #expect(finished.attempts == 1)
        }
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.redis("ZCARD", ns.keys.leases(.default)).int == 0)
    }

    @Test func aStaleReportThroughThePipelineIsRefused() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let pipeline = RedisPipeline(configuration: ns.server.configuration, label: "test.pipeline")
        pipeline.start()
        defer { pipeline.stop() }
        let store = RedisTaskStore(pool: ns.pool, keys: ns.keys, pipeline: pipeline)
        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        let stale = try #require(try store.claim(from: .default, blockMilliseconds: 50, leaseMilliseconds: 50))
        try await ns.awaitRedisClock(past: try #require(try ns.leaseDeadline(record.id)))
        _ = try store.recover(in: .default, limit: 10, unleasedGraceMilliseconds: 1000, retentionMilliseconds: 60_000)
        let held = try #require(try ns.store.task(record.id))
        let error = #expect(throws: TaskStoreError.self) {
            try store.complete(stale.lease, result: "stale", retentionMilliseconds: 60_000)
        }
        #expect(error?.code == .leaseLost)
        #expect(try ns.store.task(record.id) == held)
    }

    @Test func pipelinedScriptsLoadAgainAfterRedisForgetsThem() async throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let pipeline = RedisPipeline(configuration: server.configuration, label: "test.pipeline")
        pipeline.start()
        defer { pipeline.stop() }
        let store = RedisTaskStore(pool: ns.pool, keys: ns.keys, pipeline: pipeline)

        // Load every script once through the pipelines, then make Redis forget them all (as after a restart).
        _ = try fixture.submit(#"{"payload":1}"#)
        let first = try #require(try store.claim(from: .default, blockMilliseconds: 50, leaseMilliseconds: 10_000))
        try store.complete(first.lease, result: "one", retentionMilliseconds: 60_000)
        _ = try ns.redis("SCRIPT", "FLUSH")

        let id = try fixture.submit(#"{"payload":2}"#)
        let second = try #require(try store.claim(from: .default, blockMilliseconds: 50, leaseMilliseconds: 10_000))
        #expect(second.record.id.rawValue == id)
        let failed = FailureFlag()
        store.completeEventually(second.lease, result: "two", retentionMilliseconds: 60_000) { _ in
            failed.raised.store(true, ordering: .relaxed)
        }
        try await eventually("the batched completion to land") {
            try ns.store.task(second.record.id)?.state == .succeeded
        }
        let reportedFailure = failed.raised.load(ordering: .relaxed)
        #expect(!reportedFailure, "the completion reported a failure")
        #expect(try ns.store.task(second.record.id)?.result == "two")
    }

    @Test func aPipelineThatIsNotRunningRefusesWithAnError() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let pipeline = RedisPipeline(configuration: ns.server.configuration, label: "test.pipeline")
        let store = RedisTaskStore(pool: ns.pool, keys: ns.keys, pipeline: pipeline)
        #expect(throws: TaskStoreError.self) {
            try store.claim(from: .default, blockMilliseconds: 10, leaseMilliseconds: 100)
        }
    }
}

/// Set when a fire-and-forget call reports that it failed.
private final class FailureFlag: Sendable {
    let raised = Atomic<Bool>(false)
}

/// `--min-replicas` at the pipeline: one `WAIT` ends a round that holds a replicated call.
@Suite(.dedicatedThreads) struct ReplicatedPipelineTests {
    @Test func withoutEnoughReplicasOnlyReplicatedCallsFail() async throws {
        let namespace = TestNamespace()
        defer { namespace.cleanUp() }
        var configuration = namespace.server.configuration
        // More replicas than the shared server has, a cluster's masters included (one each).
        configuration.acknowledgement = RedisReplicaAcknowledgement(replicas: 5, timeoutMilliseconds: 50)
        let pipeline = RedisPipeline(configuration: configuration, label: "test.replicated")
        pipeline.start()
        defer { pipeline.stop() }
        let script = RedisScript("return redis.call('INCR', KEYS[1])")
        let key = namespace.keys.prefix + ":counter"
        // Too few replicas: a plain call is answered as ever, a replicated one is done but not acknowledged.
        #expect(try await pipeline.run(script, keys: [key], arguments: []).int == 1)
        do {
            let value = try await pipeline.run(script, keys: [key], arguments: [], replicated: true)
            Issue.record("acknowledged without a replica: \(value)")
        } catch {
            #expect(error.code == .notReplicated && error.message.contains("of 5 replica(s)"), "\(error)")
            #expect(TaskStoreError(error).code == .notReplicated)
        }
        #expect(try namespace.redis("GET", key).string == "2")
    }
}

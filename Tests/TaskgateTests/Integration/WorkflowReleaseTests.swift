import Foundation
import TaskgateRedis
import Testing

@testable import TaskgateCore

/// The workflow protocol at the store's level: a graph stored, parents completed, the releaser's passes telling
/// children and batches. Runs on a Cluster too (`TASKGATE_TEST_REDIS_URL=redis+cluster://`), where the queues
/// of one graph sit on different masters.
@Suite(.dedicatedThreads) struct WorkflowReleaseTests {
    private static func graph(_ entries: [TaskGraph.Entry]) throws -> TaskGraph { try TaskGraph(entries) }

    private static func releaser(_ ns: TestNamespace) -> WorkflowReleaser {
        WorkflowReleaser(pool: ns.pool, keys: ns.keys, retentionMilliseconds: 60_000)
    }

    /// Claims one task of `queue` and completes it with `result`; returns its id.
    private static func run(_ ns: TestNamespace, _ queue: QueueName, result: TaskResult) throws -> TaskID? {
        guard let claimed = try ns.store.claimBatch(from: queue, max: 1, leaseMilliseconds: 10_000).first else {
            return nil
        }
        try ns.store.complete(claimed.lease, result: result, retentionMilliseconds: 60_000)
        return claimed.record.id
    }

    @Test func aDiamondRunsItsLastTaskOnceAfterBothWithBothResults() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let a = QueueName("wf-a")!
        let b = QueueName("wf-b")!
        let d = QueueName("wf-d")!
        let submissions = [
            TaskSubmission(payload: .integer(1), queue: a), TaskSubmission(payload: .integer(2), queue: b),
            TaskSubmission(payload: .integer(3), queue: b), TaskSubmission(payload: .integer(4), queue: d),
        ]
        let graph = try Self.graph([
            .init(ref: "a"), .init(ref: "b", after: ["a"]), .init(ref: "c", after: ["a"]),
            .init(ref: "d", after: ["b", "c"]),
        ])
        let (records, _) = try ns.store.storeWorkflow(
            submissions, graph: graph, batch: nil, retentionMilliseconds: 60_000, workflowRetentionMilliseconds: 60_000)
        #expect(records.map(\.state) == [.pending, .waiting, .waiting, .waiting])
        let releaser = Self.releaser(ns)

        // Nothing but A can run until A is done.
        #expect(try Self.run(ns, b, result: "no") == nil)
        #expect(try Self.run(ns, a, result: TaskResult(.integer(10))) == records[0].id)
        var pass = try releaser.pass([a])
        #expect(pass.released == 2)
        // Told again (a second drainer, a repeat after a SIGKILL): nothing moves twice.
        _ = try ns.redis("ZADD", ns.keys.released(a), 0, records[0].id.rawValue)
        pass = try releaser.pass([a])
        #expect(pass.released == 0 && pass.drained == 1)

        let first = try #require(try Self.run(ns, b, result: "from first"))
        let second = try #require(try Self.run(ns, b, result: "from second"))
        #expect(Set([first, second]) == Set([records[1].id, records[2].id]))
        #expect(try ns.store.claimBatch(from: d, max: 1, leaseMilliseconds: 10_000).isEmpty)
        pass = try releaser.pass([b])
        #expect(pass.released == 1)
        let claimedLast = try #require(try ns.store.claimBatch(from: d, max: 5, leaseMilliseconds: 10_000).first)
        let last = (claimedLast.lease, try ns.store.parents(of: claimedLast.record))
        #expect(last.1.id == records[3].id)
        let parents = Dictionary(uniqueKeysWithValues: last.1.parents.map { ($0.id, $0) })
        #expect(parents.count == 2)
        #expect(parents[records[1].id.rawValue]?.state == "succeeded")
        let results = Set(last.1.parents.compactMap { $0.result?.string })
        #expect(results == ["from first", "from second"])
        #expect(try ns.store.claimBatch(from: d, max: 5, leaseMilliseconds: 10_000).isEmpty)
    }

    @Test func aDeadParentCancelsItsDescendantsAndRunPolicyRunsAnyway() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let q = QueueName("wf-fail")!
        var runAnyway = TaskSubmission(payload: .integer(3), queue: q)
        runAnyway.onParentFailure = .run
        let submissions = [
            TaskSubmission(payload: .integer(1), queue: q, maxRetries: 0),
            TaskSubmission(payload: .integer(2), queue: q),
            runAnyway, TaskSubmission(payload: .integer(4), queue: q),
        ]
        let graph = try Self.graph([
            .init(ref: "p"), .init(ref: "cancelled", after: ["p"]), .init(ref: "runs", after: ["p"]),
            .init(ref: "grandchild", after: ["cancelled"]),
        ])
        let (records, batchID) = try ns.store.storeWorkflow(
            submissions, graph: graph, batch: BatchSpec(metadata: .string("m")), retentionMilliseconds: 60_000,
            workflowRetentionMilliseconds: 60_000)
        let claimed = try #require(try ns.store.claimBatch(from: q, max: 1, leaseMilliseconds: 10_000).first)
        _ = try ns.store.fail(claimed.lease, error: "boom", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
        _ = try Self.releaser(ns).pass([q])
        let cancelled = try #require(try ns.store.task(records[1].id))
        #expect(cancelled.state == .cancelled)
        #expect(cancelled.lastError == "parent \(records[0].id) is dead")
        #expect(try ns.store.task(records[3].id)?.state == .cancelled)
        let claimedRuns = try #require(try ns.store.claimBatch(from: q, max: 5, leaseMilliseconds: 10_000).first)
        let runs = (lease: claimedRuns.lease, record: try ns.store.parents(of: claimedRuns.record))
        #expect(runs.record.id == records[2].id)
        #expect(runs.record.parents.first?.state == "dead" && runs.record.parents.first?.error == "boom")

        // The batch counts each task once, in the state it ended in, and completes with the last one.
        let id = try #require(batchID)
        func batch() throws -> BatchRecord? {
            BatchRecord(flatFields: (try ns.redis("HGETALL", ns.keys.batch(id)).array ?? []).map { $0.string ?? "" })
        }
        #expect(try batch()?.complete == false)
        #expect(try batch()?.dead == 1 && batch()?.cancelled == 2 && batch()?.unfinished == 1)
        try ns.store.complete(runs.lease, result: .null, retentionMilliseconds: 60_000)
        let pass = try Self.releaser(ns).pass([q])
        #expect(pass.completed == 1)
        let done = try #require(try batch())
        #expect(done.complete && !done.allSucceeded && done.succeeded == 1 && done.unfinished == 0)
        // Told again, it stays complete and counts nothing twice.
        _ = try ns.redis("ZADD", ns.keys.released(q), 0, records[2].id.rawValue)
        #expect(try Self.releaser(ns).pass([q]).completed == 0)
        #expect(try batch()?.succeeded == 1)
    }

    private static func store(
        _ ns: TestNamespace, _ submissions: [TaskSubmission], _ entries: [TaskGraph.Entry],
        workflowRetentionMilliseconds: Int = 60_000
    ) throws -> [TaskRecord] {
        try ns.store.storeWorkflow(
            submissions, graph: TaskGraph(entries), batch: nil, retentionMilliseconds: 60_000,
            workflowRetentionMilliseconds: workflowRetentionMilliseconds
        ).records
    }

    /// Runs `passes` releaser passes over `queues` at once, each on a thread of its own (drainers on several
    /// workers), and answers what they released in all.
    private static func concurrentPasses(
        _ ns: TestNamespace, _ queues: [QueueName], passes: Int = 2
    ) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<passes {
                group.addTask { try await offThePool { try Self.releaser(ns).pass(queues).released } }
            }
            return try await group.reduce(0, +)
        }
    }

    /// Completes every pending task of `queue` (at most `limit`), 100 claimed at a time.
    private static func completeAll(_ ns: TestNamespace, _ queue: QueueName, limit: Int = .max) throws -> Int {
        var done = 0
        while done < limit {
            let claimed = try ns.store.claimBatch(
                from: queue, max: min(100, limit - done), leaseMilliseconds: 30_000)
            if claimed.isEmpty { break }
            for task in claimed {
                try ns.store.complete(task.lease, result: TaskResult(.integer(done)), retentionMilliseconds: 60_000)
                done += 1
            }
        }
        return done
    }

    /// How many times each id was released (the `releases` field its release script counts).
    private static func releases(_ ns: TestNamespace, _ ids: [TaskID]) throws -> [Int] {
        try ns.pool.round(ids.map { RedisCommand("HGET", ns.keys.task($0), "releases") }).map {
            Int($0.string ?? "0") ?? 0
        }
    }

    @Test func aThousandChildrenOfOneParentAreEachReleasedOnceByTwoDrainersAtOnce() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let parentQueue = QueueName("wf-fan-p")!
        let queues = [QueueName("wf-fan-a")!, QueueName("wf-fan-b")!]
        let submissions =
            [TaskSubmission(payload: .integer(0), queue: parentQueue)]
            + (0..<1_000).map { TaskSubmission(payload: .integer($0), queue: queues[$0 % 2]) }
        let entries = [TaskGraph.Entry(ref: "p")] + (0..<1_000).map { _ in TaskGraph.Entry(after: ["p"]) }
        let records = try Self.store(ns, submissions, entries)
        let children = records.dropFirst().map(\.id)
        #expect(try Self.completeAll(ns, parentQueue) == 1)
        let released = try await Self.concurrentPasses(ns, [parentQueue])
        #expect(released == 1_000)
        var pending: [String] = []
        for queue in queues {
            pending += (try ns.redis("LRANGE", ns.keys.pending(queue), 0, -1).array ?? []).compactMap(\.string)
        }
        #expect(pending.count == 1_000 && Set(pending) == Set(children.map(\.rawValue)))
        #expect(try Self.releases(ns, children).allSatisfy { $0 == 1 })
        #expect(try ns.redis("ZCARD", ns.keys.waiting(queues[0])).int == 0)
    }

    @Test func aChildOfAThousandParentsIsReleasedOnceWhenItsLastTwoEndTogether() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let parentQueues = [QueueName("wf-many-a")!, QueueName("wf-many-b")!]
        let childQueue = QueueName("wf-many-c")!
        let parents = (0..<1_000).map { TaskSubmission(payload: .integer($0), queue: parentQueues[$0 % 2]) }
        let entries =
            (0..<1_000).map { TaskGraph.Entry(ref: "p\($0)") }
            + [TaskGraph.Entry(after: (0..<1_000).map { "p\($0)" })]
        let records = try Self.store(ns, parents + [TaskSubmission(payload: .null, queue: childQueue)], entries)
        let child = records[1_000].id
        // All but the last parent of each queue, told as they go.
        for queue in parentQueues {
            #expect(try Self.completeAll(ns, queue, limit: 499) == 499)
            _ = try await Self.concurrentPasses(ns, parentQueues)
        }
        let waiting = try #require(try ns.store.task(child))
        #expect(waiting.state == .waiting && waiting.waitingFor == 2)
        // The last two end at the same instant, one per queue, and two drainers tell the child at once.
        for queue in parentQueues { #expect(try Self.completeAll(ns, queue) == 1) }
        let released = try await Self.concurrentPasses(ns, parentQueues)
        #expect(released == 1)
        #expect(
            try ns.redis("LRANGE", ns.keys.pending(childQueue), 0, -1).array?.compactMap(\.string) == [child.rawValue])
        #expect(try Self.releases(ns, [child]) == [1])
        let claimed = try #require(try ns.store.claimBatch(from: childQueue, max: 1, leaseMilliseconds: 30_000).first)
        let seen = try ns.store.parents(of: claimed.record).parents
        #expect(seen.count == 1_000 && seen.allSatisfy { $0.state == "succeeded" && $0.result != nil })
    }

    @Test func anUnknownParentRefusesTheWholeRequestWithNothingStored() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let unknown = "default." + String(repeating: "ab", count: 16)
        for parent in [unknown, "batch:" + String(repeating: "cd", count: 16)] {
            do {
                _ = try Self.store(
                    ns, [TaskSubmission(payload: .integer(1)), TaskSubmission(payload: .integer(2))],
                    [.init(ref: "first"), .init(after: ["first", parent])])
                Issue.record("a request naming an unknown parent was stored")
            } catch WorkflowStoreError.invalid(let error) {
                #expect(error.field == "/tasks/1/after/1")
                #expect(error.message.contains(parent))
            }
        }
        let left = try ns.redis("SCAN", 0, "MATCH", ns.keys.prefix + ":*", "COUNT", 1000).array?.last?.array ?? []
        #expect(left.isEmpty)
    }

    @Test func aParentThatSucceededBeforeReleasesANewChildWithItsResult() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let parent = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        let claimed = try #require(try ns.store.claim())
        try ns.store.complete(claimed.lease, result: TaskResult(.integer(7)), retentionMilliseconds: 60_000)
        let child = try Self.store(ns, [TaskSubmission(payload: .integer(2))], [.init(after: [parent.id.rawValue])])[0]
        #expect(child.state == .waiting)
        #expect(try Self.releaser(ns).pass([.default]).released == 1)
        let run = try #require(try ns.store.claim())
        #expect(run.record.id == child.id)
        #expect(try ns.store.parents(of: run.record).parents.first?.result?.json == "7")
    }

    @Test func requeuingADeadParentLetsTheChildItCancelledWaitAndRun() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let records = try Self.store(
            ns, [TaskSubmission(payload: .integer(1), maxRetries: 0), TaskSubmission(payload: .integer(2))],
            [.init(ref: "p"), .init(after: ["p"])])
        let releaser = Self.releaser(ns)
        let first = try #require(try ns.store.claim())
        _ = try ns.store.fail(first.lease, error: "boom", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
        _ = try releaser.pass([.default])
        #expect(try ns.store.task(records[1].id)?.state == .cancelled)

        let control = TaskControl(pool: ns.pool, keys: ns.keys)
        #expect(try control.requeue(records[0].id) == .done(was: .dead))
        _ = try releaser.pass([.default])
        let waiting = try #require(try ns.store.task(records[1].id))
        #expect(waiting.state == .waiting && waiting.lastError == nil && waiting.finishedAt == nil)
        let second = try #require(try ns.store.claim())
        #expect(second.record.id == records[0].id)
        try ns.store.complete(second.lease, result: "ok", retentionMilliseconds: 60_000)
        #expect(try releaser.pass([.default]).released == 1)
        #expect(try ns.store.claim()?.record.id == records[1].id)
    }

    @Test func deletingAParentCancelsItsChildrenThroughItsTombstone() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let records = try Self.store(
            ns, [TaskSubmission(payload: .integer(1)), TaskSubmission(payload: .integer(2))],
            [.init(ref: "p"), .init(after: ["p"])])
        // The delete tells the child at once (the operator's seam drains the queue after its change), reading the
        // parent's end from its tombstone: its record is gone.
        #expect(try TaskControl(pool: ns.pool, keys: ns.keys).delete(records[0].id) == .done(was: .pending))
        #expect(try ns.redis("EXISTS", ns.keys.task(records[0].id)).int == 0)
        #expect(try Self.releaser(ns).pass([.default]).drained == 0)
        let child = try #require(try ns.store.task(records[1].id))
        #expect(child.state == .cancelled)
        #expect(child.lastError == "parent \(records[0].id) is cancelled")
        #expect(try ns.redis("EXISTS", ns.keys.tombstone(records[0].id)).int == 0)
        #expect(try ns.redis("EXISTS", ns.keys.children(records[0].id)).int == 0)
    }

    @Test func aWaitingTaskPastItsExpiryIsCancelled() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let records = try Self.store(
            ns, [TaskSubmission(payload: .integer(1)), TaskSubmission(payload: .integer(2))],
            [.init(ref: "p"), .init(after: ["p"])], workflowRetentionMilliseconds: 1)
        let releaser = Self.releaser(ns)
        try await eventually("the waiting task to expire") {
            _ = try releaser.pass([.default])
            return try ns.store.task(records[1].id)?.state == .cancelled
        }
        #expect(try ns.store.task(records[1].id)?.lastError?.hasPrefix("expired") == true)
        #expect(try ns.redis("ZCARD", ns.keys.waiting(.default)).int == 0)
    }

    @Test func aWorkflowRequestWhileRedisIsDownIsAStoreErrorAndStoresNothing() throws {
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        server.stop()
        do {
            _ = try Self.store(
                ns, [TaskSubmission(payload: .integer(1)), TaskSubmission(payload: .integer(2))],
                [.init(ref: "p"), .init(after: ["p"])])
            Issue.record("a workflow request was answered with Redis down")
        } catch WorkflowStoreError.store(let error) {
            #expect(error.code == .unavailable)
        }
    }

    @Test func aCompleteBatchsWebhookIsDueOnceAndTakenByTheCallbackClaim() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let (records, batchID) = try ns.store.storeWorkflow(
            [TaskSubmission(payload: .integer(1)), TaskSubmission(payload: .integer(2))],
            graph: TaskGraph([.init(), .init()]), batch: BatchSpec(callbackURL: "http://127.0.0.1:9/done"),
            retentionMilliseconds: 60_000, workflowRetentionMilliseconds: 60_000)
        let id = try #require(batchID)
        #expect(records.allSatisfy { $0.batch == id })
        for _ in records {
            let claimed = try #require(try ns.store.claim())
            try ns.store.complete(claimed.lease, result: .null, retentionMilliseconds: 60_000)
        }
        #expect(try Self.releaser(ns).pass([.default]).completed == 1)
        #expect(try ns.redis("ZCARD", ns.keys.batchCallbacks).int == 1)

        let claim = { () throws -> [RedisValue] in
            try ns.pool.run(
                TaskScripts.claimCallbacks, keys: [ns.keys.batchCallbacks],
                arguments: [30_000, 10, ns.keys.batchPrefix, ""]
            ).array ?? []
        }
        let taken = try claim()
        #expect(taken.count == 1)
        let entry = try #require(taken.first?.array)
        #expect(entry[0].string == id && entry[1].int == 1)
        let batch = try #require(BatchRecord(flatFields: (entry[2].array ?? []).map { $0.string ?? "" }))
        #expect(batch.complete && batch.allSucceeded && batch.succeeded == 2)
        // Held by the try: a second claim takes nothing; the try's outcome ends the delivery.
        #expect(try claim().isEmpty)
        let finished = try ns.pool.run(
            BatchScripts.finishCallback, keys: [ns.keys.batch(id), ns.keys.batchCallbacks],
            arguments: [id, 1, "delivered", 204, "", 0])
        #expect(finished.int == 1)
        #expect(try ns.redis("HGET", ns.keys.batch(id), "callback_state").string == "delivered")
        #expect(try ns.redis("ZCARD", ns.keys.batchCallbacks).int == 0)
    }
}

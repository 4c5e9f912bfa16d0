import Foundation
import Synchronization
import TaskgateCore
import TaskgateRedis
import Testing

/// Taskgate on a real Redis Cluster (three masters on loopback ports, with a replica each for the first test):
/// queues on different nodes, a claim while its queue's slot moves, and a busy queue moved by
/// `redis-cli --cluster reshard` under load.
///
/// The rest of the suite runs against a cluster too: `scripts/test` runs it a second time with
/// `TASKGATE_TEST_REDIS_URL=redis+cluster://...`.
@Suite(.serialized, .dedicatedThreads) struct ClusterTests {
    private func log(_ process: TaskgateProcess) -> String {
        (try? String(contentsOf: process.log, encoding: .utf8)) ?? ""
    }

    /// A gateway and a worker on `cluster` for `queues`.
    private func start(
        _ cluster: ClusterDeployment, prefix: String, queues: [String]
    ) async throws -> (TaskgateProcess, TaskgateProcess, HTTPClient) {
        let port = freePort()
        let gateway = try TaskgateProcess([
            "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", cluster.url, "--key-prefix", prefix,
        ])
        let worker = try TaskgateProcess(
            ["worker", "--redis-url", cluster.url, "--key-prefix", prefix, "--exec", "cat", "--concurrency", "4"]
                + queues.flatMap { ["--queue", $0] }
                + ["--backoff-base-seconds", "0.05", "--backoff-max-seconds", "0.2", "--lease-seconds", "2"])
        let client = HTTPClient(port: port)
        try await eventually("the gateway to be ready") {
            guard gateway.process.isRunning, worker.process.isRunning else {
                throw TestFailure("exited: \(log(gateway)) \(log(worker))")
            }
            return (try? client.get("/readyz"))?.status == 200
        }
        // The worker registers its queues as it starts; a queue stream follows registered queues only.
        let streams = "/events?" + queues.map { "queue=\($0)" }.joined(separator: "&")
        try await eventually("the worker's queues to be registered") {
            (try? client.request("HEAD", streams))?.status == 200
        }
        return (gateway, worker, client)
    }

    /// POSTs until accepted (a 503 in a move is a "try again"); returns the id.
    private func post(_ client: HTTPClient, queue: String) async throws -> String {
        try await eventuallyValue("a POST to \(queue) to be accepted") { () throws -> String? in
            let response = try client.post("/tasks", json: #"{"queue":"\#(queue)","payload":{"n":1}}"#)
            if response.status == 503 { return nil }
            guard response.status == 202 else {
                throw TestFailure("POST answered \(response.status): \(response.text)")
            }
            return response.json["id"] as? String
        }
    }

    @Test func queuesOnThreeMastersRunAndStreamTheirEvents() async throws {
        let cluster = try ClusterDeployment(replicas: true)
        defer { cluster.stop() }
        // One queue per master: its hash tag's slot (CLUSTER KEYSLOT agrees) is in that master's range.
        let queues = [100, 6000, 12000].enumerated().map {
            queueName(inSlot: $0.element, prefix: "spread\($0.offset)-")
        }
        var owners: [Int] = []
        for queue in queues {
            let slot = try cluster.nodes[0].connect().send(RedisCommand("CLUSTER", "KEYSLOT", "x:{\(queue)}:pending"))
            #expect(slot.int == RedisKeySlot.slot(of: queue))
            owners.append(try cluster.owner(of: RedisKeySlot.slot(of: queue)).port)
        }
        #expect(Set(owners).count == 3, "\(queues) on \(owners)")
        let prefix = "spread"
        let (gateway, worker, client) = try await start(cluster, prefix: prefix, queues: queues)
        defer {
            gateway.stop()
            worker.stop()
        }
        // One stream follows all three queues: three nodes' sharded channels on one subscriber.
        let stream = try EventStreamClient(
            port: client.port, path: "/events?" + queues.map { "queue=\($0)" }.joined(separator: "&"))
        try stream.readHead()
        #expect(stream.status == 200)
        var ids: [String] = []
        for queue in queues {
            for _ in 0..<10 { ids.append(try await post(client, queue: queue)) }
        }
        let succeeded = Mutex<Set<String>>([])
        let expected = ids.count
        // Blocking reads on a thread of their own, never on the few threads of the async pool.
        let reader = Task {
            try await offThePool {
                while let event = try stream.next() {
                    if event.name == "succeeded", let id = event.json["id"] as? String {
                        if succeeded.withLock({ $0.insert(id).inserted && $0.count == expected }) { return }
                    }
                }
            }
        }
        for id in ids {
            try await eventually("task \(id) to succeed") {
                (try? client.get("/tasks/\(id)"))?.json["state"] as? String == "succeeded"
            }
        }
        try await reader.value
        #expect(succeeded.withLock { $0 } == Set(ids))
        // Each task's record is on its queue's master.
        let keys = KeySpace(prefix: prefix)!
        for text in ids {
            let id = try #require(TaskID(text))
            let owner = try cluster.owner(of: RedisKeySlot.slot(of: id.queue.rawValue))
            #expect(try owner.connect().send(RedisCommand("EXISTS", keys.task(id))).int == 1)
        }
    }

    /// With `--min-replicas`, a batch and a workflow spread over three masters are acknowledged by each master's
    /// replica: the `WAIT` goes with each script, to the master that ran it (sent apart, it reached some other
    /// node, which had written nothing, and every batch was a 503).
    @Test func batchesAndWorkflowsOnThreeMastersAreAcknowledgedByEachReplica() throws {
        let cluster = try ClusterDeployment(replicas: true)
        defer { cluster.stop() }
        let queues = [200, 6200, 12200].enumerated().compactMap {
            QueueName(queueName(inSlot: $0.element, prefix: "acked\($0.offset)-"))
        }
        var configuration = try RedisConfiguration(url: cluster.url)
        configuration.acknowledgement = RedisReplicaAcknowledgement(replicas: 1, timeoutMilliseconds: 5_000)
        let pool = RedisConnectionPool(configuration: configuration, maxIdle: 2)
        defer { pool.drain() }
        let store = RedisTaskStore(pool: pool, keys: KeySpace(prefix: "acked")!)
        let outcomes = store.enqueueBatch(
            queues.map { (submission: TaskSubmission(payload: .integer(1), queue: $0), idempotencyKey: nil) },
            idempotencyWindowMilliseconds: 60_000)
        for outcome in outcomes {
            guard case .success(.created) = outcome else {
                Issue.record("a batch task was not acknowledged: \(outcome)")
                continue
            }
        }
        let graph = try TaskGraph([.init(ref: "a"), .init(ref: "b", after: ["a"]), .init(after: ["a", "b"])])
        let (records, batch) = try store.storeWorkflow(
            queues.map { TaskSubmission(payload: .integer(2), queue: $0) }, graph: graph, batch: BatchSpec(),
            retentionMilliseconds: 60_000, workflowRetentionMilliseconds: 60_000)
        #expect(records.map(\.state) == [.pending, .waiting, .waiting])
        #expect(try store.batch(try #require(batch))?.total == 3)
    }

    /// What Redis 7 does with the claim script's derived task keys while the queue's slot moves: a record that
    /// went to the importing node already fails to read on the old one ("non local key"). The claim leaves the
    /// ids on the list and claims them all once the move is over. (It used to pop first and dead-letter such an
    /// id; putting ids back instead failed too: the emptied list is a key missing from a moving slot.)
    @Test func aClaimWhileItsSlotMovesLeavesTheIdsAndLosesNothing() async throws {
        let cluster = try ClusterDeployment(replicas: false)
        defer { cluster.stop() }
        let queueText = queueName(inSlot: 42, prefix: "moving-")
        let queue = try #require(QueueName(queueText))
        let slot = RedisKeySlot.slot(of: queueText)
        let source = try cluster.owner(of: slot)
        let target = try #require(cluster.nodes.prefix(3).first { $0.port != source.port })
        let configuration = try RedisConfiguration(url: cluster.url)
        let keys = KeySpace(prefix: "moving")!
        let store = RedisTaskStore(pool: RedisConnectionPool(configuration: configuration), keys: keys)
        var ids: [TaskID] = []
        for _ in 0..<3 {
            guard case .created(let record) = try store.enqueue(TaskSubmission(payload: .null, queue: queue)) else {
                throw TestFailure("not created")
            }
            ids.append(record.id)
        }
        // In a slot being moved, a script whose keys are not all on the node is refused (TRYAGAIN) before it
        // runs; the claim's other keys exist here (as on a queue in use), so it runs, and meets the record.
        let sourceConnection = try source.connect()
        let stray = "\(queueText).00000000000000000000000000000000"
        for command in [
            RedisCommand("RPUSH", keys.active(queue), stray), RedisCommand("ZADD", keys.dead(queue), 0, stray),
            RedisCommand("HSET", keys.unleased(queue), stray, 0), RedisCommand("HSET", keys.control(queue), "seen", 1),
            RedisCommand("ZADD", keys.leases(queue), "+inf", stray),
        ] {
            _ = try sourceConnection.send(command)
        }
        // The move begins, and the oldest task's record (the first a claim reads) goes first.
        let targetConnection = try target.connect()
        _ = try targetConnection.send(RedisCommand("CLUSTER", "SETSLOT", slot, "IMPORTING", try cluster.id(of: source)))
        _ = try sourceConnection.send(RedisCommand("CLUSTER", "SETSLOT", slot, "MIGRATING", try cluster.id(of: target)))
        _ = try sourceConnection.send(
            RedisCommand("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", keys.task(ids[0])))

        let during = try store.claimBatch(from: queue, max: 3, leaseMilliseconds: 10_000)
        #expect(during.isEmpty, "claimed \(during.map(\.record.id)) mid-move")
        #expect(try sourceConnection.send(RedisCommand("LLEN", keys.pending(queue))).int == 3)
        #expect(try sourceConnection.send(RedisCommand("ZRANGE", keys.dead(queue), 0, -1)).array?.count == 1)

        // The move ends: every other key of the slot goes, and every master learns the new owner.
        while let left = try sourceConnection.send(RedisCommand("CLUSTER", "GETKEYSINSLOT", slot, 100)).array,
            !left.isEmpty
        {
            var migrate = RedisCommand("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS")
            migrate.append(contentsOf: left.compactMap(\.string))
            _ = try sourceConnection.send(migrate)
        }
        let targetID = try cluster.id(of: target)
        for node in cluster.nodes.prefix(3) {
            _ = try node.connect().send(RedisCommand("CLUSTER", "SETSLOT", slot, "NODE", targetID))
        }
        let after = try store.claimBatch(from: queue, max: 3, leaseMilliseconds: 10_000)
        #expect(Set(after.map(\.record.id)) == Set(ids))
        #expect(try targetConnection.send(RedisCommand("ZRANGE", keys.dead(queue), 0, -1)).array?.count == 1)
    }

    /// `redis-cli --cluster reshard` moves a busy queue's slot to another master while tasks are posted and
    /// run: every accepted task succeeds, none is left pending or active, and the queue's event stream follows
    /// the slot to its new node.
    @Test func aBusyQueueMovedByReshardLosesNothing() async throws {
        let cluster = try ClusterDeployment(replicas: false)
        defer { cluster.stop() }
        // The first slot of the second master: what a reshard of one slot from it moves.
        let slot = try cluster.firstSlots()[1]
        let queue = queueName(inSlot: slot, prefix: "busy-")
        let source = try cluster.owner(of: slot)
        let target = try #require(cluster.nodes.prefix(3).first { $0.port != source.port })
        let (gateway, worker, client) = try await start(cluster, prefix: "busy", queues: [queue])
        defer {
            gateway.stop()
            worker.stop()
        }
        let stream = try EventStreamClient(port: client.port, path: "/queues/\(queue)/events")
        try stream.readHead()
        #expect(stream.status == 200)
        let succeededOnStream = Mutex<Set<String>>([])
        // Blocking reads and posts on threads of their own, never on the few threads of the async pool.
        let reader = Task {
            try await offThePool {
                while let event = try? stream.next() {
                    if event.name == "succeeded", let id = event.json["id"] as? String {
                        _ = succeededOnStream.withLock { $0.insert(id) }
                    }
                }
            }
        }
        defer { reader.cancel() }

        // Load before, during and after the move: waves of eight posts, each wave run before the next is
        // posted, so the backlog stays small while the worker is busy all along.
        let accepted = Mutex<[String]>([])
        let moving = Mutex(true)
        let producer = Task {
            try await offThePool {
                while moving.withLock({ $0 }) {
                    var wave: [String] = []
                    for _ in 0..<8 {
                        let response = try? client.post("/tasks", json: #"{"queue":"\#(queue)","payload":{"n":1}}"#)
                        if response?.status == 202, let id = response?.json["id"] as? String { wave.append(id) }
                    }
                    accepted.withLock { $0 += wave }
                    for id in wave {
                        while (try? client.get("/tasks/\(id)"))?.json["state"] as? String != "succeeded" {
                            guard moving.withLock({ $0 }) else { return }
                            usleep(20_000)
                        }
                    }
                }
            }
        }
        try await eventually("tasks to be accepted before the move") { accepted.withLock { $0.count } >= 30 }
        let reshard = try SpawnedProcess(
            "/usr/bin/redis-cli",
            [
                "--cluster", "reshard", "127.0.0.1:\(source.port)", "--cluster-from", try cluster.id(of: source),
                "--cluster-to", try cluster.id(of: target), "--cluster-slots", "1", "--cluster-yes",
                "--cluster-pipeline", "2",
            ],
            environment: ProcessInfo.processInfo.environment, outputPath: "/dev/null")
        #expect(try await offThePool { reshard.waitUntilExit() } == 0)
        #expect(try cluster.owner(of: slot).port == target.port)
        let movedAt = accepted.withLock { $0.count }
        try await eventually("tasks to be accepted after the move") { accepted.withLock { $0.count } >= movedAt + 30 }
        // The stream is live-only: events published while the gateway subscribes again on the new node are not
        // replayed. So first the stream must carry a task accepted after the move (it subscribed again), then
        // every task accepted from then on must reach it.
        try await eventually("the stream to carry a task accepted after the move (subscribed on the new node)") {
            let after = Set(accepted.withLock { Array($0[movedAt...]) })
            return !after.isDisjoint(with: succeededOnStream.withLock { $0 })
        }
        let resumedAt = accepted.withLock { $0.count }
        try await eventually("two more waves to be accepted") { accepted.withLock { $0.count } >= resumedAt + 16 }
        moving.withLock { $0 = false }
        try await producer.value

        let ids = accepted.withLock { $0 }
        for id in ids {
            try await eventually("task \(id) to succeed") {
                (try? client.get("/tasks/\(id)"))?.json["state"] as? String == "succeeded"
            }
        }
        let depths = try client.get("/queues/\(queue)").json["depths"] as? [String: Any]
        #expect(depths?["pending"] as? Int == 0 && depths?["active"] as? Int == 0 && depths?["dead"] as? Int == 0)
        // The stream saw every task accepted since it was live again succeed: it follows the new node.
        let afterResubscription = Set(ids[resumedAt...])
        try await eventually("the stream to carry every task accepted since it subscribed on the new node") {
            afterResubscription.isSubset(of: succeededOnStream.withLock { $0 })
        }
        // Redis ended the subscription when the slot left the node, and the gateway subscribed again.
        #expect(log(gateway).contains("event subscription ended by Redis (slot moved); subscribing again"))
        print("reshard under load: \(ids.count) accepted, \(movedAt) before the move, lost 0")
    }
}

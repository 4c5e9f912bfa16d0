import Foundation
import Logging
import Synchronization
import TaskgateCore
import TaskgateWorker
import Testing

/// Workflows over HTTP: a real gateway, an embedded worker and callback deliverer, a real webhook receiver.
@Suite(.dedicatedThreads) struct WorkflowHTTPTests {
    private static let allowLoopback = try! CallbackAllowList("127.0.0.1")

    /// Every key of the namespace, by a whole SCAN of its prefix.
    private static func keysLeft(_ ns: TestNamespace) throws -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            let reply = try ns.redis("SCAN", cursor, "MATCH", ns.keys.prefix + ":*", "COUNT", 1000).array ?? []
            cursor = reply.first?.string ?? "0"
            found += (reply.last?.array ?? []).compactMap(\.string)
        } while cursor != "0"
        return found
    }

    /// What the test worker's handler ran: each task's payloads (one per attempt) and the parents it saw.
    final class Runs: Sendable {
        let payloads = Mutex<[String: [String]]>([:])
        let parents = Mutex<[String: String]>([:])
    }

    /// An embedded worker on `queues` whose handler answers `{"seen": payload}` (failing payloads `"fail"`) and
    /// records every task it ran with the parents it saw.
    private static func worker(
        _ ns: TestNamespace, queues: [String], concurrency: Int = 4, runs: Runs = Runs()
    ) -> Worker {
        let handlers = HandlerRegistry(
            fallback: ClosureTaskHandler { task in
                runs.payloads.withLock { $0[task.id.rawValue, default: []].append(task.payload) }
                if task.hasParents { runs.parents.withLock { $0[task.id.rawValue] = task.parentsJSON } }
                if task.payload == #""fail""# { throw TaskFailure("asked to fail") }
                return TaskResult(.object([JSONMember("seen", task.payloadValue)]))
            })
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        return Worker(
            configuration: WorkerConfiguration(
                redis: ns.server.configuration, keys: ns.keys,
                queues: queues.map { WeightedQueue(QueueName($0)!) }, concurrency: concurrency,
                retryPolicy: .exponentialJitter(baseMilliseconds: 10, maxMilliseconds: 10), claimBlockMilliseconds: 100),
            handlers: handlers, logger: logger)
    }

    private static func deliverer(_ ns: TestNamespace, secret: String) throws -> CallbackDeliverer {
        var logger = Logger(label: "test-deliverer")
        logger.logLevel = .critical
        return CallbackDeliverer(
            configuration: CallbackConfiguration(
                redis: ns.server.configuration, keys: ns.keys, queues: [], allow: allowLoopback,
                signer: try WebhookSigner(secrets: [secret]), retryDelaysMilliseconds: [50, 50],
                pollIntervalMilliseconds: 20),
            logger: logger)
    }

    /// An embedded worker and a callback deliverer, running until ``stop()``.
    final class Rig: Sendable {
        let worker: Worker
        let running: Task<Void, any Error>
        let delivering: Task<Void, any Error>

        init(_ ns: TestNamespace, queues: [String], concurrency: Int = 4, runs: Runs = Runs(), secret: String) throws {
            worker = WorkflowHTTPTests.worker(ns, queues: queues, concurrency: concurrency, runs: runs)
            let deliverer = try WorkflowHTTPTests.deliverer(ns, secret: secret)
            running = Task { [worker] in try await worker.run() }
            delivering = Task { try await deliverer.run() }
        }

        /// Asks both to stop (again is harmless).
        func stop() {
            worker.beginShutdown()
            delivering.cancel()
        }

        /// Stops and waits for the worker to end.
        func finish() async throws {
            stop()
            try await running.value
        }
    }

    @Test func aDiamondInABatchRunsEachTaskOnceAndItsBatchCompletesOnceLiveAndByWebhook() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 204) }
        let keyBytes = Data((0..<32).map { UInt8($0 * 7 % 256) })
        let secret = "whsec_\(keyBytes.base64EncodedString())"
        let runs = Runs()
        let rig = try Rig(ns, queues: ["wf-run"], runs: runs, secret: secret)
        defer { rig.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        // The graph's root waits for a task of a queue no worker serves: it moves when the test says.
        let hold = try fixture.submit(#"{"queue":"wf-hold","payload":0}"#)
        let body = #"""
            {"batch":{"callback_url":"\#(receiver.url("/album"))","metadata":{"album":7}},
             "tasks":[{"ref":"a","queue":"wf-run","payload":"a","after":["\#(hold)"]},
                      {"ref":"b","queue":"wf-run","payload":"b","after":["a"]},
                      {"ref":"c","queue":"wf-run","payload":"c","after":["a"]},
                      {"ref":"d","queue":"wf-run","payload":"d","after":["b","c"]}]}
            """#
        let created = try fixture.client.post("/tasks/batch", json: body)
        #expect(created.status == 202, "\(created.text)")
        let batch = try #require(created.json["batch"] as? [String: Any])
        let batchID = try #require(batch["id"] as? String)
        #expect(batch["total"] as? Int == 4 && batch["complete"] as? Bool == false)
        #expect((batch["metadata"] as? [String: Any])?["album"] as? Int == 7)
        let results = try #require(created.json["results"] as? [[String: Any]])
        #expect(results.map { $0["ref"] as? String } == ["a", "b", "c", "d"])
        let tasks = results.compactMap { $0["task"] as? [String: Any] }
        let ids = tasks.compactMap { $0["id"] as? String }
        #expect(ids.count == 4 && tasks.allSatisfy { $0["state"] as? String == "waiting" })
        #expect(tasks[3]["after"] as? [String] == [ids[1], ids[2]] && tasks[3]["batch"] as? String == batchID)
        #expect(tasks[1]["waiting_for"] as? Int == 1 && tasks[3]["waiting_for"] as? Int == 2)
        let holdRecord = try fixture.task(hold)
        #expect(holdRecord["children"] as? [String] == [ids[0]] && holdRecord["children_count"] as? Int == 1)
        let root = try fixture.task(ids[0])
        #expect(root["children"] as? [String] == [ids[1], ids[2]].sorted() && root["children_count"] as? Int == 2)

        // A stream and a long-poll of the batch, both open before anything runs.
        let port = fixture.gateway.port
        let stream = try EventStreamClient(port: port, path: "/batches/\(batchID)/events")
        try stream.readHead()
        let snapshot = try #require(try stream.next())
        #expect(snapshot.name == "snapshot" && snapshot.json["id"] as? String == batchID)
        let poll = Task { try await offThePool { try HTTPClient(port: port).get("/batches/\(batchID)?wait=60") } }
        _ = try await watch("the stream and the long-poll to listen") {
            fixture.gateway.events.registrationCount == 2 ? true : nil
        }

        // The hold task is done through the pull API: the gateway's pull maintenance tells its child.
        let claim = try fixture.client.post("/queues/wf-hold/claim", json: #"{"max":1}"#)
        let claimed = try #require((claim.json["tasks"] as? [[String: Any]])?.first)
        #expect(claimed["parents"] == nil)
        let token = try #require(claimed["token"] as? String)
        let done = try fixture.client.post(
            "/tasks/\(hold)/complete", json: #"{"token":"\#(token)","result":{"go":true}}"#)
        #expect(done.status == 200)

        let answer = try await poll.value
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.json["complete"] as? Bool == true && answer.json["succeeded"] as? Bool == true)
        let counts = try #require(answer.json["counts"] as? [String: Any])
        #expect(counts["succeeded"] as? Int == 4 && counts["unfinished"] as? Int == 0)
        let events = try stream.readToEnd()
        #expect(events.last?.name == "batch_completed", "\(events.map(\.name))")
        #expect(events.dropLast().allSatisfy { $0.name == "batch_progress" })
        #expect((events.last?.json["counts"] as? [String: Any])?["succeeded"] as? Int == 4)

        // Each ran once; d after b and c, seeing both their results.
        let ran = runs.payloads.withLock { $0 }
        #expect(ids.allSatisfy { ran[$0]?.count == 1 }, "\(ran)")
        let seen = try #require(runs.parents.withLock { $0[ids[3]] })
        let parents = try #require(try JSONSerialization.jsonObject(with: Data(seen.utf8)) as? [String: [String: Any]])
        #expect(Set(parents.keys) == [ids[1], ids[2]])
        #expect((parents[ids[1]]?["result"] as? [String: Any])?["seen"] as? String == "b")
        #expect(parents[ids[2]]?["state"] as? String == "succeeded")
        let rootParents = try #require(runs.parents.withLock { $0[ids[0]] })
        #expect(rootParents.contains(#""go":true"#))

        // One webhook, signed, with the batch's counts.
        try await eventually("the batch webhook to be delivered") {
            let shown = try fixture.client.get("/batches/\(batchID)").json["callback"] as? [String: Any]
            return shown?["state"] as? String == "delivered"
        }
        let requests = receiver.requests
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.path == "/album" && request.header("webhook-id") == "batch_\(batchID)")
        #expect(request.header("taskgate-batch-id") == batchID)
        let delivered = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(delivered["id"] as? String == batchID && delivered["total"] as? Int == 4)
        #expect((delivered["counts"] as? [String: Any])?["succeeded"] as? Int == 4)
        let timestamp = try #require(request.header("webhook-timestamp").flatMap { Int($0) })
        var content = Data("batch_\(batchID).\(timestamp).".utf8)
        content.append(request.body)
        let mac = try referenceHMACSHA256(key: Array(keyBytes), message: Array(content))
        #expect(request.header("webhook-signature") == "v1," + Data(mac).base64EncodedString())
        try await rig.finish()
    }

    @Test func aWorkflowWithAFaultIsRefusedWholeNamingItAndStoresNothing() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let missing = "wf-x.0123456789abcdef0123456789abcdef"
        let cases: [(body: String, status: Int, code: String, field: String, says: String)] = [
            (
                #"{"tasks":[{"ref":"a","payload":1,"after":["c"]},{"ref":"b","payload":2,"after":["a"]},"#
                    + #"{"ref":"c","payload":3,"after":["b"]}]}"#, 422, "invalid-workflow", "/tasks/0/after",
                "a -> c -> b -> a"
            ),
            (
                #"{"tasks":[{"ref":"a","payload":1},{"payload":2,"after":["a","\#(missing)"]}]}"#, 422,
                "invalid-workflow", "/tasks/1/after/1", missing
            ),
            (
                #"{"tasks":[{"ref":"a","payload":1,"after":["a"]}]}"#, 422, "invalid-workflow", "/tasks/0/after/0",
                "itself"
            ),
            (#"{"tasks":[{"payload":1,"after":["nope"]}]}"#, 422, "invalid-workflow", "/tasks/0/after/0", "nope"),
            (
                #"{"tasks":[{"ref":"a","payload":1},{"ref":"a","payload":2}]}"#, 422, "invalid-workflow",
                "/tasks/1/ref", "taken"
            ),
            (
                #"{"tasks":[{"ref":"a","payload":1,"idempotency_key":"k"}]}"#, 422, "idempotency-key-in-workflow",
                "/tasks/0/idempotency_key", "idempotency key"
            ),
            (
                #"{"tasks":[{"ref":"a","payload":1},{"after":["a"]}]}"#, 400, "missing-field", "/tasks/1/payload",
                "payload"
            ),
            (#"{"tasks":[{"payload":1}],"batch":{"size":3}}"#, 400, "unknown-field", "/batch/size", "size"),
            (#"{"tasks":[{"payload":1}],"batch":{},"extra":1}"#, 400, "unknown-field", "/extra", "extra"),
            (
                #"{"tasks":[{"payload":1}],"batch":{"callback_url":"http://example.com/x"}}"#, 400,
                "callback-not-allowed", "/batch/callback_url", "--callback-allow"
            ),
            (
                #"{"tasks":[{"payload":1}],"batch":{"metadata":"\#(String(repeating: "m", count: 17_000))"}}"#, 400,
                "invalid-field", "/batch/metadata", "16384"
            ),
            (#"{"payload":1,"after":["\#(missing)"]}"#, 422, "invalid-workflow", "/after/0", missing),
            (#"{"payload":1,"after":["batch:feedbeef"]}"#, 422, "invalid-workflow", "/after/0", "batch:feedbeef"),
        ]
        for (index, item) in cases.enumerated() {
            let path = index >= cases.count - 2 ? "/tasks" : "/tasks/batch"
            let answer = try fixture.client.post(path, json: item.body)
            #expect(answer.status == item.status, "case \(index): \(answer.text)")
            #expect(answer.header("Content-Type") == "application/problem+json", "case \(index)")
            #expect(answer.json["code"] as? String == item.code, "case \(index): \(answer.text)")
            #expect(answer.json["field"] as? String == item.field, "case \(index): \(answer.text)")
            #expect((answer.json["detail"] as? String)?.contains(item.says) == true, "case \(index): \(answer.text)")
        }
        let tooMany =
            #"{"batch":{},"tasks":["# + Array(repeating: #"{"payload":1}"#, count: 10_001).joined(separator: ",") + "]}"
        let big = try fixture.client.post("/tasks/batch", json: tooMany)
        #expect(big.status == 400 && big.json["field"] as? String == "/tasks")
        // An Idempotency-Key with after: refused, as a replay could not give back a whole workflow.
        let keyed = try fixture.client.request(
            "POST", "/tasks", headers: ["Content-Type": "application/json", "Idempotency-Key": "k-1"],
            body: Data(#"{"payload":1,"after":["\#(missing)"]}"#.utf8))
        #expect(keyed.status == 422 && keyed.json["code"] as? String == "idempotency-key-in-workflow")
        // The queue registry is the gate's (a queue is admitted before its tasks are stored, as for any POST):
        // it names `default`, which the pruner drops when no task comes. Nothing of the requests is stored.
        let left = try Self.keysLeft(ns).filter { $0 != ns.keys.queues }
        #expect(left.isEmpty, "nothing stored: \(left)")

        // Of many parents that are not there, the first in the request's order is named.
        let many = (0..<20).map { #""wf-m\#($0).0123456789abcdef0123456789abcdef""# }.joined(separator: ",")
        let first = try fixture.client.post("/tasks", json: #"{"payload":1,"after":[\#(many)]}"#)
        #expect(first.status == 422 && first.json["field"] as? String == "/after/0", "\(first.text)")

        let unknown = try fixture.client.get("/batches/0123456789abcdef0123456789abcdef")
        #expect(unknown.status == 404 && unknown.header("Content-Type") == "application/problem+json")
        let events = try fixture.client.request("HEAD", "/batches/feed/events", headers: [:], body: Data())
        #expect(events.status == 404)
        for wait in ["0", "61", "x"] {
            #expect(try fixture.client.get("/batches/feed?wait=\(wait)").status == 400, "wait=\(wait)")
        }
    }

    @Test func cancellingAParentCancelsItsWaitingChildAtOnceAndARunChildGoesOnWithWhatItSees() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let parent = try fixture.submit(#"{"queue":"wf-p","payload":1}"#)
        let child = try fixture.client.post("/tasks", json: #"{"queue":"wf-c","payload":2,"after":["\#(parent)"]}"#)
        #expect(child.status == 202 && child.json["state"] as? String == "waiting")
        #expect(child.header("Location") == "/tasks/\(child.json["id"] as? String ?? "")")
        let childID = try #require(child.json["id"] as? String)
        let runner = try fixture.client.post(
            "/tasks", json: #"{"queue":"wf-c","payload":3,"after":["\#(parent)"],"on_parent_failure":"run"}"#)
        let runnerID = try #require(runner.json["id"] as? String)
        #expect(runner.json["on_parent_failure"] as? String == "run")
        #expect((try fixture.task(parent))["children_count"] as? Int == 2)

        // No worker serves either queue: the operator's change tells the children itself.
        let cancelled = try fixture.client.post("/tasks/\(parent)/cancel", json: "")
        #expect(cancelled.status == 200 && cancelled.json["state"] as? String == "cancelled")
        let after = try fixture.task(childID)
        #expect(after["state"] as? String == "cancelled", "\(after)")
        #expect((after["last_error"] as? String)?.contains(parent) == true)
        #expect(after["waiting_for"] == nil)
        let ran = try fixture.task(runnerID)
        #expect(ran["state"] as? String == "pending", "\(ran)")

        // Pulled, the run-anyway child sees its parent's end.
        let claim = try fixture.client.post("/queues/wf-c/claim", json: #"{"max":5}"#)
        let claimed = try #require(claim.json["tasks"] as? [[String: Any]])
        #expect(claimed.compactMap { $0["id"] as? String } == [runnerID])
        let parents = try #require(claimed.first?["parents"] as? [String: [String: Any]])
        #expect(parents[parent]?["state"] as? String == "cancelled" && parents[parent]?["result"] is NSNull)
    }

    @Test func aChildOfParentsFinalAlreadyIsReleasedOrCancelledInTheAnswer() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let done = try fixture.submit(#"{"queue":"wf-old","payload":1}"#)
        let failed = try fixture.submit(#"{"queue":"wf-old","payload":2,"max_retries":0}"#)
        // Both end with no worker on their queue, so nothing drains its outbox but the new child's POST.
        let claimed = try ns.store.claimBatch(from: QueueName("wf-old")!, max: 2, leaseMilliseconds: 30_000)
        let byID = Dictionary(uniqueKeysWithValues: claimed.map { ($0.record.id.rawValue, $0.lease) })
        try ns.store.complete(try #require(byID[done]), result: "old result", retentionMilliseconds: 60_000)
        _ = try ns.store.fail(
            try #require(byID[failed]), error: "broken", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
        #expect(try fixture.task(failed)["state"] as? String == "dead")

        let ready = try fixture.client.post("/tasks", json: #"{"queue":"wf-new","payload":3,"after":["\#(done)"]}"#)
        #expect(ready.status == 202 && ready.json["state"] as? String == "pending", "\(ready.text)")
        let doomed = try fixture.client.post(
            "/tasks", json: #"{"queue":"wf-new","payload":4,"after":["\#(done)","\#(failed)"]}"#)
        #expect(doomed.status == 202 && doomed.json["state"] as? String == "cancelled", "\(doomed.text)")
        #expect((doomed.json["last_error"] as? String)?.contains(failed) == true)
        let claim = try fixture.client.post("/queues/wf-new/claim", json: #"{"max":5}"#)
        let tasks = try #require(claim.json["tasks"] as? [[String: Any]])
        #expect(tasks.count == 1)
        let parents = try #require(tasks.first?["parents"] as? [String: [String: Any]])
        #expect(parents[done]?["result"] as? String == "old result")
    }

    @Test func aBatchWebhookRefusedOnceIsTriedAgainWithTheSameIDAndDelivered() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { _, number in
            number == 1 ? .init(status: 503, body: "busy") : .init(status: 204)
        }
        let rig = try Rig(
            ns, queues: ["wf-hook"], secret: "whsec_" + Data(repeating: 3, count: 32).base64EncodedString())
        defer { rig.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let created = try fixture.client.post(
            "/tasks/batch",
            json: #"{"batch":{"callback_url":"\#(receiver.url())"},"tasks":[{"queue":"wf-hook","payload":1}]}"#)
        let batchID = try #require((created.json["batch"] as? [String: Any])?["id"] as? String)
        try await eventually("the batch webhook to be delivered") {
            let shown = try fixture.client.get("/batches/\(batchID)").json["callback"] as? [String: Any]
            return shown?["state"] as? String == "delivered"
        }
        let callback = try #require(try fixture.client.get("/batches/\(batchID)").json["callback"] as? [String: Any])
        #expect(callback["tries"] as? Int == 2 && callback["last_status"] as? Int == 204, "\(callback)")
        let requests = receiver.requests
        #expect(requests.count == 2)
        #expect(Set(requests.map { $0.header("webhook-id") }) == ["batch_\(batchID)"])
        #expect(requests.map { $0.header("taskgate-callback-try") } == ["1", "2"])
        try await rig.finish()
    }

    @Test func withRedisDownWorkflowRequestsAndBatchReadsAre503AndStoreNothing() async throws {
        // Persistent, so that what was stored before the stop is there after the restart.
        let server = RedisServer(persistent: true)
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let parent = try fixture.submit(#"{"payload":1}"#)
        let created = try fixture.client.post("/tasks/batch", json: #"{"batch":{},"tasks":[{"payload":2}]}"#)
        let batchID = try #require((created.json["batch"] as? [String: Any])?["id"] as? String)
        server.stop()

        let answers = [
            try fixture.client.post("/tasks", json: #"{"payload":3,"after":["\#(parent)"]}"#),
            try fixture.client.post(
                "/tasks/batch", json: #"{"tasks":[{"ref":"a","payload":4},{"after":["a"],"payload":5}]}"#),
            try fixture.client.get("/batches/\(batchID)"),
            try fixture.client.get("/tasks/\(parent)"),
        ]
        for (index, answer) in answers.enumerated() {
            #expect(answer.status == 503, "answer \(index): \(answer.text)")
            #expect(answer.header("Content-Type") == "application/problem+json", "answer \(index)")
            #expect(answer.json["code"] as? String == "redis-unavailable", "answer \(index): \(answer.text)")
        }
        try server.restart()
        // Nothing of the refused requests was stored: the parent has no children, the queue only its two tasks.
        try await eventually("the gateway to read again") { try fixture.client.get("/tasks/\(parent)").status == 200 }
        #expect(try fixture.task(parent)["children"] == nil)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 2)
    }

    @Test func aTenThousandTaskBatchFiresItsWebhookExactlyOnceWithCountsThatMatch() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, maxBodyBytes: 4 << 20, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 200) }
        let rig = try Rig(
            ns, queues: ["wf-big"], concurrency: 16,
            secret: "whsec_" + Data(repeating: 1, count: 32).base64EncodedString())
        defer { rig.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }
        // Every hundredth task fails for good: the counts must tell dead from succeeded.
        let tasks = (0..<10_000).map { index in
            index % 100 == 0
                ? #"{"queue":"wf-big","payload":"fail","max_retries":0}"# : #"{"queue":"wf-big","payload":\#(index)}"#
        }
        let body = #"{"batch":{"callback_url":"\#(receiver.url())"},"tasks":["# + tasks.joined(separator: ",") + "]}"
        let created = try fixture.client.post("/tasks/batch", json: body)
        #expect(created.status == 202)
        let batchID = try #require((created.json["batch"] as? [String: Any])?["id"] as? String)
        let port = fixture.gateway.port
        var state: [String: Any] = [:]
        for _ in 0..<10 where state["complete"] as? Bool != true {
            state = try await offThePool { try HTTPClient(port: port).get("/batches/\(batchID)?wait=60") }.json
        }
        #expect(state["complete"] as? Bool == true)
        let counts = try #require(state["counts"] as? [String: Any])
        #expect(counts["succeeded"] as? Int == 9_900 && counts["dead"] as? Int == 100, "\(counts)")
        #expect(state["succeeded"] as? Bool == false)
        try await eventually("the batch webhook to be delivered") {
            let shown = try fixture.client.get("/batches/\(batchID)").json["callback"] as? [String: Any]
            return shown?["state"] as? String == "delivered"
        }
        let requests = receiver.requests
        #expect(requests.count == 1)
        let delivered = try #require(try JSONSerialization.jsonObject(with: requests[0].body) as? [String: Any])
        #expect((delivered["counts"] as? [String: Any])?["succeeded"] as? Int == 9_900)
        #expect((delivered["counts"] as? [String: Any])?["dead"] as? Int == 100)
        #expect(delivered["total"] as? Int == 10_000)
        // Nothing is due any more: no second webhook can come.
        #expect(try ns.redis("ZCARD", ns.keys.batchCallbacks).int == 0)
        try await rig.finish()
    }
}

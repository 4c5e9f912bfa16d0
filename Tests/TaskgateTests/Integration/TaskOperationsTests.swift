import Dispatch
import Foundation
import Synchronization
import TaskgateCore
import TaskgateGateway
import Testing

/// Requeue, delete, cancel and batch submit over real sockets against real Redis, each with its refusals.
@Suite(.dedicatedThreads) struct TaskOperationsTests {
    private static let queue = QueueName("ops")!

    private func deadTask(_ ns: TestNamespace, error: String = "boom") throws -> TaskID {
        let record = try ns.store.enqueue(TaskSubmission(payload: .integer(1), queue: Self.queue, maxRetries: 0))
        let claimed = try #require(try ns.store.claim(from: Self.queue))
        #expect(
            try ns.store.fail(claimed.lease, error: error, backoffMilliseconds: 0, retentionMilliseconds: 600_000)
                == .dead(retries: 0))
        return record.id
    }

    @Test func requeueSendsADeadTaskBackWithRetriesResetAndRefusesAnyOther() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try deadTask(ns, error: "smtp timeout")
        #expect(try ns.redis("PTTL", ns.keys.task(id)).int ?? 0 > 0)
        let requeued = try fixture.client.post("/tasks/\(id)/requeue", json: "")
        #expect(requeued.status == 200)
        #expect(requeued.json["state"] as? String == "pending")
        #expect(requeued.json["retries"] as? Int == 0)
        #expect(requeued.json["attempts"] as? Int == 1)
        #expect(requeued.json["last_error"] as? String == "smtp timeout")
        #expect(try ns.redis("ZSCORE", ns.keys.dead(Self.queue), id.rawValue).isNull)
        #expect(try ns.redis("LRANGE", ns.keys.pending(Self.queue), 0, -1).array?.compactMap(\.string) == [id.rawValue])
        #expect(try ns.redis("PTTL", ns.keys.task(id)).int == -1)  // live again: no expiry
        // It runs again, as a fresh try.
        let again = try #require(try ns.store.claim(from: Self.queue))
        #expect(again.record.id == id)
        #expect(again.record.attempts == 2)

        let conflict = try fixture.client.post("/tasks/\(id)/requeue", json: "")
        #expect(conflict.status == 409)
        #expect(conflict.header("Content-Type") == "application/problem+json")
        #expect(conflict.json["code"] as? String == "state-conflict")
        #expect(conflict.json["state"] as? String == "active")
        #expect(try fixture.client.post("/tasks/ops.0123456789abcdef0123456789abcdef/requeue", json: "").status == 404)
        #expect(try fixture.client.post("/tasks/nonsense/requeue", json: "").status == 404)
    }

    @Test func requeueAllDeadTakesEveryDeadTaskInBoundedSteps() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let ids = try (0..<250).map { _ in try deadTask(ns) }
        // A stray id in the dead set (no record) is dropped on the way, not left to block the steps.
        _ = try ns.redis("ZADD", ns.keys.dead(Self.queue), 1, "ops.ffffffffffffffffffffffffffffffff")
        let response = try fixture.client.post("/queues/ops/dead/requeue", json: "")
        #expect(response.status == 200)
        #expect(response.json["requeued"] as? Int == 250)
        #expect(response.json["dead_remaining"] as? Int == 0)
        #expect(try ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 250)
        #expect(try ns.redis("ZCARD", ns.keys.dead(Self.queue)).int == 0)
        for id in ids { #expect(try ns.store.task(id)?.state == .pending) }
    }

    @Test func deleteRemovesAWaitingOrFinishedTaskWithItsRecordButNotARunningOne() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let dead = try deadTask(ns)
        let retrying = try ns.store.enqueue(TaskSubmission(payload: .integer(1), queue: Self.queue))
        let failing = try #require(try ns.store.claim(from: Self.queue))
        #expect(failing.record.id == retrying.id)
        _ = try ns.store.fail(failing.lease, error: "x", backoffMilliseconds: 600_000, retentionMilliseconds: 60_000)
        _ = try ns.store.enqueue(TaskSubmission(payload: .integer(1), queue: Self.queue))
        let running = try #require(try ns.store.claim(from: Self.queue))
        let pending = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        let scheduled = try fixture.submit(#"{"queue":"ops","payload":1,"delay_seconds":600}"#)

        let refused = try fixture.client.request("DELETE", "/tasks/\(running.record.id)")
        #expect(refused.status == 409)
        #expect(refused.json["state"] as? String == "active")
        #expect(try ns.store.task(running.record.id)?.state == .active)

        // A long-poll on a task that gets deleted answers when it is, not when its wait is up.
        let waiting = Task { try await offThePool { try fixture.client.get("/tasks/\(pending)?wait=30") } }
        try await eventually("the long-poll to be waiting") {
            try ns.redis("PUBSUB", "SHARDNUMSUB", ns.keys.events(Self.queue)).array?.last?.int == 1
        }
        for id in [pending, scheduled, dead.rawValue, retrying.id.rawValue] {
            let deleted = try fixture.client.request("DELETE", "/tasks/\(id)")
            #expect(deleted.status == 200, "\(id): \(deleted.text)")
            #expect(deleted.json["deleted"] as? Bool == true)
            #expect(try fixture.client.get("/tasks/\(id)").status == 404)
            #expect(try fixture.client.request("DELETE", "/tasks/\(id)").status == 404)
        }
        let ended = Atomic<Int>(0)
        Task { ended.store((try? await waiting.value)?.status ?? -1, ordering: .relaxed) }
        try await eventually(timeout: 10, "the long-poll to answer on the deletion") {
            ended.load(ordering: .relaxed) != 0
        }
        #expect(ended.load(ordering: .relaxed) == 404)
        for key in [ns.keys.pending(Self.queue), ns.keys.active(Self.queue)] {
            #expect(try ns.redis("LLEN", key).int == 0)
        }
        for key in [ns.keys.scheduled(Self.queue), ns.keys.retrying(Self.queue), ns.keys.dead(Self.queue)] {
            #expect(try ns.redis("ZCARD", key).int == 0, "\(key)")
        }
    }

    @Test func cancelEndsAWaitingTaskSoItNeverRunsAndRefusesAFinishedOne() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let pending = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        let scheduled = try fixture.submit(#"{"queue":"ops","payload":1,"delay_seconds":600}"#)
        for id in [pending, scheduled] {
            let cancelled = try fixture.client.post("/tasks/\(id)/cancel", json: "")
            #expect(cancelled.status == 200)
            #expect(cancelled.json["state"] as? String == "cancelled")
            #expect(cancelled.json["finished_at"] is String)
            #expect(try ns.redis("PTTL", ns.keys.task(TaskID(id)!)).int ?? 0 > 0)
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 0)
        #expect(try ns.redis("ZCARD", ns.keys.scheduled(Self.queue)).int == 0)
        #expect(try ns.store.claimBatch(from: Self.queue, max: 10, leaseMilliseconds: 1_000).isEmpty)
        // A long-poll on a cancelled task answers at once: it is final.
        #expect(try fixture.client.get("/tasks/\(pending)?wait=5").json["state"] as? String == "cancelled")
        let again = try fixture.client.post("/tasks/\(pending)/cancel", json: "")
        #expect(again.status == 409)
        #expect(again.json["state"] as? String == "cancelled")
    }

    @Test func cancelOfARunningExecTaskKillsItsProcessGroupAndEndsCancelled() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let pids = FileManager.default.temporaryDirectory.appendingPathComponent("cancel-\(UUID().uuidString)")
        // The command and a child of its own, both in the attempt's process group.
        let worker = try TaskgateProcess.worker(
            ns,
            exec:
                "echo $$ > \(pids.path).tmp; sleep 300 & echo $! >> \(pids.path).tmp; mv \(pids.path).tmp \(pids.path); wait",
            extra: ["--queue", "ops"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: pids) }
        let id = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        let running = try await eventuallyValue("the command and its child to start") { () -> [Int32]? in
            guard let text = try? String(contentsOf: pids, encoding: .utf8) else { return nil }
            let found = text.split(separator: "\n").compactMap { Int32($0) }
            return found.count == 2 ? found : nil
        }
        #expect(try fixture.task(id)["state"] as? String == "active")
        let cancelled = try fixture.client.post("/tasks/\(id)/cancel", json: "")
        #expect(cancelled.status == 200)
        #expect(cancelled.json["state"] as? String == "cancelled")
        try await eventually("the command and its child to be killed") {
            running.allSatisfy { kill($0, 0) != 0 && errno == ESRCH }
        }
        try await eventually("the worker to say why") { worker.output.contains("task cancelled by an operator") }
        #expect(try fixture.task(id)["state"] as? String == "cancelled")
        // The worker's late report (the killed command's failure) changed nothing, and it claims again.
        let next = try fixture.submit(#"{"queue":"ops","payload":2}"#)
        try await eventually("the worker to go on") {
            try (try? String(contentsOf: pids, encoding: .utf8)) != nil
                && fixture.task(next)["state"] as? String == "active"
        }
        #expect(try fixture.task(id)["state"] as? String == "cancelled")
    }

    @Test func cancelOfARunningHTTPPushAbandonsItAndItsLateAnswerIsIgnored() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let cancelled = DispatchSemaphore(value: 0)
        // The first push hangs until the test has cancelled its task and seen the worker go on; then it answers.
        let receiver = try TestHTTPReceiver { _, number in
            if number == 1 { cancelled.wait() }
            return TestHTTPReceiver.Answer(status: 200, body: number == 1 ? "late" : "on time")
        }
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--http-target", receiver.url()], extra: ["--queue", "ops", "--concurrency", "1"])
        defer {
            cancelled.signal()
            worker.stop()
            receiver.stop()
            fixture.stop()
            ns.cleanUp()
        }
        let id = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        try await eventually("the push to arrive") { receiver.requests.count == 1 }
        #expect(try fixture.task(id)["state"] as? String == "active")
        #expect(try fixture.client.post("/tasks/\(id)/cancel", json: "").status == 200)
        try await eventually("the worker to stop the push") { worker.output.contains("task cancelled by an operator") }
        // Its one slot is free again: the next task is pushed and succeeds while the first push still hangs.
        let next = try fixture.submit(#"{"queue":"ops","payload":2}"#)
        try await eventually("the next task to succeed") { try fixture.task(next)["state"] as? String == "succeeded" }
        cancelled.signal()
        let late = try fixture.submit(#"{"queue":"ops","payload":3}"#)
        try await eventually("a third task to succeed after the late answer") {
            try fixture.task(late)["state"] as? String == "succeeded"
        }
        let first = try fixture.task(id)
        #expect(first["state"] as? String == "cancelled")
        #expect(first["result"] is NSNull)
    }

    @Test func requeueCancelAndDeleteEachPublishTheirEventInTheirStep() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let dead = try deadTask(ns)
        let waiting = try fixture.submit(#"{"queue":"ops","payload":1,"delay_seconds":3600}"#)
        let doomed = try fixture.submit(#"{"queue":"ops","payload":2,"delay_seconds":3600}"#)
        let stream = try EventStreamClient(port: fixture.gateway.port, path: "/queues/ops/events")
        try stream.readHead()
        #expect(stream.status == 200)
        #expect(try fixture.client.post("/tasks/\(dead)/requeue", json: "").status == 200)
        #expect(try fixture.client.post("/tasks/\(waiting)/cancel", json: "").status == 200)
        #expect(try fixture.client.request("DELETE", "/tasks/\(doomed)").status == 200)
        var seen: [StreamEvent] = []
        while seen.count < 3, let event = try await offThePool({ try stream.next() }) { seen.append(event) }
        #expect(seen.map(\.name) == ["requeued", "cancelled", "deleted"])
        #expect(seen.map { $0.json["id"] as? String } == [dead.rawValue, waiting, doomed])
        #expect(seen.map { $0.json["state"] as? String } == ["pending", "cancelled", "scheduled"])
        #expect(seen[1].json["was"] as? String == "scheduled")
    }

    @Test func pauseLimitsAndResumeArePublishedOnTheQueuesStream() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        try fixture.register("ops", "other")
        let stream = try EventStreamClient(port: fixture.gateway.port, path: "/queues/ops/events")
        try stream.readHead()
        let other = try EventStreamClient(port: fixture.gateway.port, path: "/queues/other/events")
        try other.readHead()
        #expect(try fixture.client.post("/queues/ops/pause", json: "").status == 200)
        #expect(
            try fixture.client.request(
                "PUT", "/queues/ops/limits", headers: ["Content-Type": "application/json"],
                body: Data(#"{"max_per_second":5,"max_active":2}"#.utf8)
            ).status == 200)
        #expect(try fixture.client.post("/queues/ops/resume", json: "").status == 200)
        let task = try fixture.submit(#"{"queue":"other","payload":1}"#)
        var seen: [StreamEvent] = []
        while seen.count < 3, let event = try await offThePool({ try stream.next() }) { seen.append(event) }
        #expect(seen.map(\.name) == ["paused", "limits", "resumed"])
        #expect(seen.allSatisfy { $0.id == nil && $0.json["queue"] as? String == "ops" })
        #expect(seen.map { $0.json["paused"] as? Bool } == [true, true, false])
        #expect(seen[1].json["max_active"] as? Int == 2)
        // Another queue's stream got none of them: its first event is its own task's.
        let first = try await offThePool { try other.next() }
        #expect(first?.name == "created")
        #expect(first?.json["id"] as? String == task)
    }

    @Test func aCancelRacingACompletionLeavesExactlyOneFinalState() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let control = TaskControl(pool: ns.pool, keys: ns.keys)
        var outcomes: [String: Int] = [:]
        for _ in 0..<200 {
            let record = try ns.store.enqueue(TaskSubmission(payload: .integer(1), queue: Self.queue))
            let claimed = try #require(try ns.store.claim(from: Self.queue))
            let completed = Atomic<Bool>(false)
            let cancelled = Atomic<Bool>(false)
            let store = ns.store
            DispatchQueue.concurrentPerform(iterations: 2) { side in
                if side == 0 {
                    if (try? store.complete(claimed.lease, result: "done", retentionMilliseconds: 60_000)) != nil {
                        completed.store(true, ordering: .relaxed)
                    }
                } else if case .done? = try? control.cancel(record.id) {
                    cancelled.store(true, ordering: .relaxed)
                }
            }
            let state = try #require(try ns.store.task(record.id)?.state)
            let won = (completed.load(ordering: .relaxed), cancelled.load(ordering: .relaxed))
            #expect(won == (true, false) || won == (false, true), "both or neither won: \(won)")
            #expect(state == (won.0 ? .succeeded : .cancelled))
            #expect(try ns.leaseDeadline(record.id) == nil)
            outcomes[state.rawValue, default: 0] += 1
        }
        #expect(outcomes.values.reduce(0, +) == 200)
    }

    @Test func aPullWorkersNextHeartbeatAfterACancelGets409Cancelled() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        let claim = try fixture.client.post("/queues/ops/claim", json: #"{"max":1}"#)
        let token = try #require((claim.json["tasks"] as? [[String: Any]])?.first?["token"] as? String)
        #expect(try fixture.client.post("/tasks/\(id)/cancel", json: "").status == 200)
        for path in ["heartbeat", "complete"] {
            let refused = try fixture.client.post("/tasks/\(id)/\(path)", json: #"{"token":"\#(token)"}"#)
            #expect(refused.status == 409, "\(path)")
            #expect(refused.json["code"] as? String == "cancelled", "\(path): \(refused.text)")
        }
        #expect(try fixture.task(id)["state"] as? String == "cancelled")
    }

    @Test func aBatchAnswersEachTaskOnItsOwnAndStoresEachQueueInOneCall() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let body = #"""
            {"tasks":[{"queue":"ops","payload":1,"idempotency_key":"k-1"},{"queue":"a b","payload":2},
            {"queue":"other","payload":3},{"payload":4,"delay_seconds":-1},{"queue":"ops","payload":5}]}
            """#
        let response = try fixture.client.post("/tasks/batch", json: body)
        #expect(response.status == 200)
        let results = try #require(response.json["results"] as? [[String: Any]])
        #expect(results.map { $0["status"] as? Int } == [202, 400, 202, 400, 202])
        #expect((results[1]["problem"] as? [String: Any])?["field"] as? String == "/tasks/1/queue")
        #expect((results[3]["problem"] as? [String: Any])?["field"] as? String == "/tasks/3/delay_seconds")
        let first = try #require((results[0]["task"] as? [String: Any])?["id"] as? String)
        #expect(try ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 2)
        #expect(try ns.redis("LLEN", ns.keys.pending(QueueName("other")!)).int == 1)
        // Both queues are registered for the operator.
        #expect(try ns.redis("ZCARD", ns.keys.queues).int == 2)
        // The same idempotency key again replays the first task.
        let replay = try fixture.client.post(
            "/tasks/batch", json: #"{"tasks":[{"queue":"ops","payload":1,"idempotency_key":"k-1"}]}"#)
        let replayed = try #require((replay.json["results"] as? [[String: Any]])?.first)
        #expect(replayed["status"] as? Int == 200)
        #expect(replayed["replayed"] as? Bool == true)
        #expect((replayed["task"] as? [String: Any])?["id"] as? String == first)

        // A callback_url is checked against the allow list as POST /tasks checks it (the list is empty here).
        let callback = try fixture.client.post(
            "/tasks/batch", json: #"{"tasks":[{"payload":1,"callback_url":"http://example.com/done"}]}"#)
        let refusedCallback = (callback.json["results"] as? [[String: Any]])?.first
        #expect(refusedCallback?["status"] as? Int == 400)
        #expect((refusedCallback?["problem"] as? [String: Any])?["field"] as? String == "/tasks/0/callback_url")

        let withHeader = try fixture.client.request(
            "POST", "/tasks/batch", headers: ["Content-Type": "application/json", "Idempotency-Key": "k"],
            body: Data(#"{"tasks":[{"payload":1}]}"#.utf8))
        #expect(withHeader.status == 400)
        let tooMany = "{\"tasks\":[" + Array(repeating: #"{"payload":1}"#, count: 1_001).joined(separator: ",") + "]}"
        for (json, field) in [
            (tooMany, "/tasks"), (#"{"tasks":[]}"#, "/tasks"), (#"{"task":[]}"#, ""), ("[", nil),
            (#"{"tasks":[{"payload":1,"idempotency_key":""}]}"#, nil),
        ] {
            let refused = try fixture.client.post("/tasks/batch", json: json)
            if field == nil && json.hasPrefix("{") {
                // A bad idempotency_key is that task's problem, not the batch's.
                #expect(refused.status == 200)
                let result = (refused.json["results"] as? [[String: Any]])?.first
                #expect((result?["problem"] as? [String: Any])?["field"] as? String == "/tasks/0/idempotency_key")
                continue
            }
            #expect(refused.status == 400, "\(json.prefix(40))")
            #expect(refused.header("Content-Type") == "application/problem+json")
            if let field { #expect(refused.json["field"] as? String == field) }
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 2)
    }
}

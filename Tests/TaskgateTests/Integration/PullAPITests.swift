import Foundation
import TaskgateCore
import TaskgateGateway
import Testing

/// The HTTP pull API: claim, heartbeat, complete and fail over real sockets against a real Redis.
@Suite(.dedicatedThreads) struct PullAPITests {
    private func claim(_ fixture: GatewayFixture, _ queue: String = "default", _ body: String = "{}") throws
        -> TestResponse
    {
        try fixture.client.post("/queues/\(queue)/claim", json: body)
    }

    private func claimedTasks(_ response: TestResponse) -> [[String: Any]] {
        response.json["tasks"] as? [[String: Any]] ?? []
    }

    /// Every field of a task's hash, to show a refused report changed nothing.
    private func hash(_ ns: TestNamespace, _ id: String) throws -> [String] {
        (try ns.redis("HGETALL", ns.keys.task(TaskID(id)!)).array ?? []).compactMap(\.string)
    }

    @Test func claimHeartbeatAndCompleteAsASwiftWorkerWould() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":{"to":"ada"},"type":"mail.send","queue":"mail"}"#)

        let claimed = try claim(fixture, "mail", #"{"max":10.0,"lease_seconds":20}"#)
        #expect(claimed.status == 200)
        #expect(claimed.json["lease_seconds"] as? Int == 20)
        let tasks = claimedTasks(claimed)
        #expect(tasks.count == 1)
        let task = try #require(tasks.first)
        #expect(task["id"] as? String == id)
        #expect(task["state"] as? String == "active")
        #expect(task["attempts"] as? Int == 1)
        #expect((task["payload"] as? [String: String]) == ["to": "ada"])
        let token = try #require(task["token"] as? String)
        #expect(token.count == 32 && token.allSatisfy(\.isHexDigit))
        let leaseKey = ns.keys.leases(QueueName("mail")!)
        let deadline = try #require(ns.redis("ZSCORE", leaseKey, id).string.flatMap { Double($0) })
        #expect(Int(deadline) - (try ns.redisClock()) > 10_000)

        let beat = try fixture.client.post("/tasks/\(id)/heartbeat", json: #"{"token":"\#(token)","lease_seconds":60}"#)
        #expect(beat.status == 200)
        #expect(beat.json["id"] as? String == id)
        #expect(beat.json["lease_seconds"] as? Int == 60)
        let extended = try #require(ns.redis("ZSCORE", leaseKey, id).string.flatMap { Double($0) })
        #expect(Int(extended) - (try ns.redisClock()) > 50_000)

        let done = try fixture.client.post(
            "/tasks/\(id)/complete", json: #"{"token":"\#(token)","result":{"sent":true}}"#)
        #expect(done.status == 200)
        #expect(done.json["state"] as? String == "succeeded")
        #expect(resultJSON(done.json) == #"{"sent":true}"#)
        #expect(try ns.redis("ZCARD", leaseKey).int == 0)
        // Nothing is left to claim, and a second completion with the same token is refused.
        #expect(claimedTasks(try claim(fixture, "mail")).isEmpty)
        let again = try fixture.client.post("/tasks/\(id)/complete", json: #"{"token":"\#(token)"}"#)
        #expect(again.status == 409)
        #expect(again.json["code"] as? String == "lease-lost")
        #expect((again.json["detail"] as? String)?.contains("succeeded") == true)
    }

    @Test func failSchedulesARetryAfterTheGivenDelayThenDeadLetters() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1,"max_retries":1}"#)
        let token = try #require(claimedTasks(try claim(fixture)).first?["token"] as? String)

        let failed = try fixture.client.post(
            "/tasks/\(id)/fail", json: #"{"token":"\#(token)","error":"smtp refused","retry_after_seconds":30}"#)
        #expect(failed.status == 200)
        #expect(failed.json["state"] as? String == "retrying")
        #expect(failed.json["retries"] as? Int == 1)
        #expect(failed.json["last_error"] as? String == "smtp refused")
        let key = ns.keys.task(TaskID(id)!)
        let runAt = try #require(ns.redis("HGET", key, "run_at").string.flatMap { Int($0) })
        let failedAt = try #require(ns.redis("HGET", key, "updated_at").string.flatMap { Int($0) })
        #expect(runAt - failedAt == 30_000)

        // Due now: moved back to pending, claimed again, failed for good.
        _ = try ns.redis("ZADD", ns.keys.scheduled(.default), 0, id)
        _ = try ns.store.promoteDue(in: .default, limit: 10)
        let second = try #require(claimedTasks(try claim(fixture)).first)
        #expect(second["attempts"] as? Int == 2)
        let secondToken = try #require(second["token"] as? String)
        #expect(secondToken != token)
        let dead = try fixture.client.post("/tasks/\(id)/fail", json: #"{"token":"\#(secondToken)"}"#)
        #expect(dead.status == 200)
        #expect(dead.json["state"] as? String == "dead")
        #expect(dead.json["last_error"] as? String == "failed")
        #expect(try ns.redis("ZSCORE", ns.keys.dead(.default), id).string != nil)
    }

    @Test func aWorkerWhoseLeaseExpiredGets409AndTheRecordIsUnchanged() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1}"#)
        let token = try #require(
            claimedTasks(try claim(fixture, "default", #"{"lease_seconds":1}"#)).first?["token"] as? String)

        // No Swift worker runs: the gateway itself takes back the tasks of pull workers that went silent.
        try await eventually("the expired lease to be recovered") {
            try fixture.task(id)["state"] as? String == "pending"
        }
        let recovered = try fixture.task(id)
        #expect(recovered["retries"] as? Int == 1)
        #expect((recovered["last_error"] as? String)?.hasPrefix("worker lost") == true)
        let before = try hash(ns, id)
        for (path, body) in [
            ("complete", #"{"token":"\#(token)","result":"late"}"#), ("fail", #"{"token":"\#(token)","error":"late"}"#),
            ("heartbeat", #"{"token":"\#(token)"}"#),
        ] {
            let response = try fixture.client.post("/tasks/\(id)/\(path)", json: body)
            #expect(response.status == 409, "\(path)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.json["code"] as? String == "lease-lost")
            #expect(try hash(ns, id) == before, "\(path) changed the record")
        }
        // A wrong token on a live lease is refused the same way and leaves the holder's lease alone.
        let live = try #require(claimedTasks(try claim(fixture)).first?["token"] as? String)
        let wrong = try fixture.client.post(
            "/tasks/\(id)/complete", json: #"{"token":"\#(String(repeating: "0", count: 32))"}"#)
        #expect(wrong.status == 409)
        #expect(try fixture.task(id)["state"] as? String == "active")
        #expect(try fixture.client.post("/tasks/\(id)/complete", json: #"{"token":"\#(live)"}"#).status == 200)
    }

    @Test func aWaitingClaimAnswersAsSoonAsATaskIsEnqueued() async throws {
        // A server of its own, so that the blocked client seen below can only be this claim.
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let client = fixture.client
        let waiting = Task {
            try await offThePool { try client.post("/queues/default/claim", json: #"{"wait_seconds":30,"max":5}"#) }
        }
        try await eventually("the claim to block in BLMOVE") {
            (try ns.redis("CLIENT", "LIST").string ?? "").contains("cmd=blmove")
        }
        let id = try fixture.submit(#"{"payload":"late"}"#)
        let response = try await waiting.value
        #expect(response.status == 200, "\(response.text)")
        let tasks = claimedTasks(response)
        #expect(tasks.map { $0["id"] as? String } == [id])
        #expect(try fixture.task(id)["state"] as? String == "active")
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
    }

    @Test func aGatewayStoppingAnswersWaitingClaimsAndLosesNothing() async throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        let client = fixture.client
        let waiting = Task {
            try await offThePool { try client.post("/queues/default/claim", json: #"{"wait_seconds":30}"#) }
        }
        try await eventually("the claim to block in BLMOVE") {
            (try ns.redis("CLIENT", "LIST").string ?? "").contains("cmd=blmove")
        }
        // Stopping must not abort in MHD_stop_daemon with the claim's connection suspended.
        fixture.stop()
        let response = try await waiting.value
        #expect(response.status == 200)
        #expect(claimedTasks(response).isEmpty)
        // A task that arrives while the abandoned BLMOVE still waits is put back, not lost.
        let record = try ns.store.enqueue(TaskSubmission(payload: .string("after stop")))
        try await eventually("the task to be pending again") {
            try ns.store.task(record.id)?.state == .pending
                && (try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array ?? []).compactMap(\.string) == [
                    record.id.rawValue
                ]
        }
    }

    @Test func badRequestsGetProblemsAndChangeNothing() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1}"#)
        let cases: [(String, String, Int, String, String?)] = [
            ("/queues/default/claim", #"{"max":0}"#, 400, "invalid-field", "/max"),
            ("/queues/default/claim", #"{"max":101}"#, 400, "invalid-field", "/max"),
            ("/queues/default/claim", #"{"max":"2"}"#, 400, "invalid-field", "/max"),
            ("/queues/default/claim", #"{"max":1.5}"#, 400, "invalid-field", "/max"),
            ("/queues/default/claim", #"{"wait_seconds":null}"#, 400, "invalid-field", "/wait_seconds"),
            ("/queues/default/claim", #"{"wait_seconds":31}"#, 400, "invalid-field", "/wait_seconds"),
            ("/queues/default/claim", #"{"lease_seconds":0.5}"#, 400, "invalid-field", "/lease_seconds"),
            ("/queues/default/claim", #"{"priority":1}"#, 400, "unknown-field", "/priority"),
            ("/queues/default/claim", #"{"max":1"#, 400, "malformed-json", nil),
            ("/queues/default/claim", #"[1]"#, 400, "invalid-field", ""),
            ("/queues/no%20such/claim", "{}", 404, "not-found", nil),
            ("/tasks/\(id)/complete", "{}", 400, "missing-field", "/token"),
            ("/tasks/\(id)/complete", #"{"token":7}"#, 400, "invalid-field", "/token"),
            ("/tasks/\(id)/complete", #"{"token":null}"#, 400, "invalid-field", "/token"),
            ("/tasks/\(id)/fail", #"{"token":"x","error":null}"#, 400, "invalid-field", "/error"),
            (
                "/tasks/\(id)/fail", #"{"token":"x","retry_after_seconds":-1}"#, 400, "invalid-field",
                "/retry_after_seconds"
            ),
            ("/tasks/\(id)/heartbeat", #"{"token":"x","lease_seconds":7200}"#, 400, "invalid-field", "/lease_seconds"),
            ("/tasks/not-an-id/complete", #"{"token":"x"}"#, 404, "not-found", nil),
            ("/tasks/default.0123456789abcdef0123456789abcdef/complete", #"{"token":"x"}"#, 404, "not-found", nil),
        ]
        for (path, body, status, code, field) in cases {
            let response = try fixture.client.post(path, json: body)
            #expect(response.status == status, "\(path) \(body): \(response.text)")
            #expect(response.header("Content-Type") == "application/problem+json", "\(path) \(body)")
            #expect(response.json["code"] as? String == code, "\(path) \(body)")
            #expect(response.json["field"] as? String == field, "\(path) \(body)")
        }
        let unsupported = try fixture.client.post("/queues/default/claim", json: "{}", contentType: "text/plain")
        #expect(unsupported.status == 415)
        #expect(try fixture.client.get("/queues/default/claim").status == 405)
        // Nothing was claimed by any of them.
        #expect(try fixture.task(id)["state"] as? String == "pending")
        #expect(try fixture.task(id)["attempts"] as? Int == 0)
    }

    @Test func claimingAndReportingNeedTheWorkerScope() throws {
        let ns = TestNamespace()
        let tokens = try #require(
            try BearerTokens(["worker:pull-secret-000001", "submit,read:web-secret-0000001", "admin-everything"]))
        let fixture = try GatewayFixture(namespace: ns, tokens: tokens)
        defer { fixture.stop(); ns.cleanUp() }
        func post(_ path: String, _ body: String, token: String) throws -> TestResponse {
            try fixture.client.request(
                "POST", path, headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"],
                body: Data(body.utf8))
        }
        // The web token submits and reads, but cannot claim.
        let created = try post("/tasks", #"{"payload":1}"#, token: "web-secret-0000001")
        #expect(created.status == 202)
        let id = try #require(created.json["id"] as? String)
        let refused = try post("/queues/default/claim", "{}", token: "web-secret-0000001")
        #expect(refused.status == 403)
        #expect(refused.json["code"] as? String == "forbidden")
        #expect(
            refused.header("WWW-Authenticate")
                == #"Bearer realm="taskgate", error="insufficient_scope", scope="worker""#)
        // The worker token claims and completes, but cannot submit or read.
        let claimed = try post("/queues/default/claim", "{}", token: "pull-secret-000001")
        #expect(claimed.status == 200)
        let token = try #require(claimedTasks(claimed).first?["token"] as? String)
        #expect(try post("/tasks", #"{"payload":2}"#, token: "pull-secret-000001").status == 403)
        let read = try fixture.client.request(
            "GET", "/tasks/\(id)", headers: ["Authorization": "Bearer pull-secret-000001"])
        #expect(read.status == 403)
        // A wrong method on a pull path is still a 405 for a worker token.
        let wrongMethod = try fixture.client.request(
            "GET", "/queues/default/claim", headers: ["Authorization": "Bearer pull-secret-000001"])
        #expect(wrongMethod.status == 405)
        #expect(try post("/tasks/\(id)/complete", #"{"token":"\#(token)"}"#, token: "web-secret-0000001").status == 403)
        #expect(try post("/tasks/\(id)/complete", #"{"token":"\#(token)"}"#, token: "pull-secret-000001").status == 200)
        // A bare token keeps every right; no token at all is still a 401 before anything else.
        #expect(try post("/queues/default/claim", "{}", token: "admin-everything").status == 200)
        #expect(try post("/tasks", #"{"payload":3}"#, token: "admin-everything").status == 202)
        let anonymous = try fixture.client.post("/queues/default/claim", json: "{}")
        #expect(anonymous.status == 401)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }

    @Test func whileRedisIsDownThePullAPIAnswers503AndTheLeaseSurvives() async throws {
        let server = RedisServer(persistent: true)
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let id = try fixture.submit(#"{"payload":1}"#)
        let token = try #require(
            claimedTasks(try claim(fixture, "default", #"{"lease_seconds":600}"#)).first?["token"] as? String)

        server.stop()
        for (path, body) in [
            ("/queues/default/claim", "{}"), ("/queues/default/claim", #"{"wait_seconds":5}"#),
            ("/tasks/\(id)/heartbeat", #"{"token":"\#(token)"}"#), ("/tasks/\(id)/complete", #"{"token":"\#(token)"}"#),
            ("/tasks/\(id)/fail", #"{"token":"\#(token)"}"#),
        ] {
            let response = try fixture.client.post(path, json: body)
            #expect(response.status == 503, "\(path) \(body)")
            #expect(response.header("Retry-After") == "1", "\(path)")
            expectProblem(response, code: "redis-unavailable")
        }
        // Back up, the attempt is still the worker's: it completes with the token it had.
        try server.restart()
        try await eventually("the gateway to reach Redis again") {
            try fixture.client.post("/tasks/\(id)/complete", json: #"{"token":"\#(token)"}"#).status == 200
        }
        #expect(try fixture.task(id)["state"] as? String == "succeeded")
    }

    @Test func claimsOverTheWaitingLimitGet503AndClaimNothing() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, pull: PullConfiguration(maxWaitingClaims: 0))
        defer { fixture.stop(); ns.cleanUp() }
        let busy = try claim(fixture, "default", #"{"wait_seconds":5}"#)
        #expect(busy.status == 503)
        #expect(busy.header("Retry-After") == "1")
        expectProblem(busy, code: "too-many-waiting-claims")
        // A claim that does not wait is not limited, and takes what is there.
        let id = try fixture.submit(#"{"payload":1}"#)
        #expect(try fixture.task(id)["state"] as? String == "pending")
        let now = try claim(fixture, "default", #"{"wait_seconds":5}"#)
        #expect(now.status == 200)
        #expect(claimedTasks(now).map { $0["id"] as? String } == [id])
    }
}

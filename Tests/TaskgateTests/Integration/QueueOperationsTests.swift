import Foundation
import TaskgateCore
import TaskgateGateway
import Testing

/// The queue endpoints over real sockets against real Redis: depths and counts, pause and resume, limits.
@Suite(.dedicatedThreads) struct QueueOperationsTests {
    private static let queue = QueueName("ops")!

    private func queueEntry(_ fixture: GatewayFixture, _ name: String) throws -> [String: Any]? {
        let listed = try fixture.client.get("/queues")
        guard listed.status == 200, let queues = listed.json["queues"] as? [[String: Any]] else {
            throw TestFailure("GET /queues answered \(listed.status): \(listed.text)")
        }
        return queues.first { $0["queue"] as? String == name }
    }

    @Test func queuesReportDepthsPauseLimitsAgeAndCountsFromTheScriptsOwnCounters() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        // Posting registers the queue; a queue never used is not listed.
        #expect(try queueEntry(fixture, "ops") == nil)
        for _ in 0..<4 { _ = try fixture.submit(#"{"queue":"ops","payload":1}"#) }
        _ = try fixture.submit(#"{"queue":"ops","payload":2,"delay_seconds":600}"#)
        let store = ns.store
        let done = try #require(try store.claim(from: Self.queue))
        try store.complete(done.lease, result: "ok", retentionMilliseconds: 60_000)
        let failing = try #require(try store.claim(from: Self.queue))
        _ = try store.fail(failing.lease, error: "boom", backoffMilliseconds: 600_000, retentionMilliseconds: 60_000)
        let running = try #require(try store.claim(from: Self.queue))
        _ = running

        let entry = try #require(try queueEntry(fixture, "ops"))
        let depths = try #require(entry["depths"] as? [String: Any])
        #expect(depths["pending"] as? Int == 1)
        #expect(depths["scheduled"] as? Int == 1)
        #expect(depths["retrying"] as? Int == 1)
        #expect(depths["active"] as? Int == 1)
        #expect(depths["dead"] as? Int == 0)
        #expect(entry["paused"] as? Bool == false)
        #expect(entry["oldest_pending_age_seconds"] is Double || entry["oldest_pending_age_seconds"] is Int)
        #expect((entry["last_minute"] as? [String: Any])?["succeeded"] as? Int == 1)
        #expect((entry["last_minute"] as? [String: Any])?["failed"] as? Int == 1)
        #expect((entry["last_day"] as? [String: Any])?["succeeded"] as? Int == 1)
        #expect(entry["per_minute"] == nil)

        let detail = try fixture.client.get("/queues/ops")
        #expect(detail.status == 200)
        let minutes = try #require(detail.json["per_minute"] as? [[String: Any]])
        #expect(minutes.count == 60)
        #expect(minutes.reduce(0) { $0 + ($1["succeeded"] as? Int ?? 0) } == 1)
        #expect(minutes.reduce(0) { $0 + ($1["failed"] as? Int ?? 0) } == 1)
        // A queue never used reads as empty rather than unknown: the registry is not a source of truth.
        let unused = try fixture.client.get("/queues/never-used")
        #expect(unused.status == 200)
        #expect((unused.json["depths"] as? [String: Any])?["pending"] as? Int == 0)
        #expect(unused.json["oldest_pending_age_seconds"] is NSNull)
    }

    @Test func aLostRegistrationIsRepairedByTheWorkerThatServesTheQueue() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        _ = try fixture.submit(#"{"queue":"ops","payload":1,"delay_seconds":600}"#)
        // The registry entry is lost (a failover, a key deleted by hand); the gateway registered it already.
        _ = try ns.redis("DEL", ns.keys.queues)
        #expect(try queueEntry(fixture, "ops") == nil)
        let worker = try TaskgateProcess.worker(ns, exec: "true", extra: ["--queue", "ops"])
        defer { worker.stop() }
        try await eventually("the worker to register ops again") {
            try ns.redis("ZSCORE", ns.keys.queues, "ops").string != nil
        }
        #expect((try queueEntry(fixture, "ops")?["depths"] as? [String: Any])?["scheduled"] as? Int == 1)
    }

    @Test func pauseStopsClaimsOfARunningWorkerAndResumeRestartsThem() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(ns, exec: "true", extra: ["--queue", "ops", "--concurrency", "2"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }
        // The worker runs: a first task succeeds.
        let first = try fixture.submit(#"{"queue":"ops","payload":0}"#)
        try await eventually("the first task to succeed") { try fixture.task(first)["state"] as? String == "succeeded" }

        let paused = try fixture.client.post("/queues/ops/pause", json: "")
        #expect(paused.status == 200)
        #expect(paused.json["paused"] as? Bool == true)
        #expect(paused.json["paused_at"] is String)
        let ids = try (0..<5).map { _ in try fixture.submit(#"{"queue":"ops","payload":1}"#) }
        // The worker's waiting claim takes the first of them, is held back by the pause, and says so.
        try await eventually("the worker to be held by the pause") {
            worker.output.contains("claims held by the queue's settings")
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 5)
        for id in ids {
            let task = try fixture.task(id)
            #expect(task["state"] as? String == "pending")
            #expect(task["attempts"] as? Int == 0)
        }
        #expect((try queueEntry(fixture, "ops"))?["paused"] as? Bool == true)

        let resumed = try fixture.client.post("/queues/ops/resume", json: "")
        #expect(resumed.status == 200)
        #expect(resumed.json["paused"] as? Bool == false)
        for id in ids {
            try await eventually("task \(id) to succeed after resume") {
                try fixture.task(id)["state"] as? String == "succeeded"
            }
        }
    }

    @Test func aPullClaimFromAPausedQueueGetsNoTaskAndWhenToComeBack() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        _ = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        #expect(try fixture.client.post("/queues/ops/pause", json: "").status == 200)
        for body in [#"{"max":5,"lease_seconds":7}"#, #"{"max":1,"wait_seconds":2,"lease_seconds":7}"#] {
            let claim = try fixture.client.post("/queues/ops/claim", json: body)
            #expect(claim.status == 200)
            #expect(claim.json["lease_seconds"] as? Int == 7, "the held answer names the lease asked for")
            #expect((claim.json["tasks"] as? [Any])?.isEmpty == true)
            #expect(claim.header("Taskgate-Held") == "paused")
            #expect(Int(claim.header("Retry-After") ?? "") ?? 0 >= 1)
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 1)
        #expect(try fixture.client.post("/queues/ops/resume", json: "").status == 200)
        let claim = try fixture.client.post("/queues/ops/claim", json: #"{"max":5}"#)
        #expect((claim.json["tasks"] as? [Any])?.count == 1)
    }

    @Test func aRateLimitHoldsAcrossTwoWorkersByRedisTimeOfStart() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let store = ns.store
        let ids = try (0..<500).map { index in
            try store.enqueue(try TaskSubmission(body: Array(#"{"queue":"ops","payload":\#(index)}"#.utf8))).id
        }
        let set = try fixture.client.request(
            "PUT", "/queues/ops/limits", headers: ["Content-Type": "application/json"],
            body: Data(#"{"max_per_second":50}"#.utf8))
        #expect(set.status == 200)
        #expect((set.json["limits"] as? [String: Any])?["max_per_second"] as? Int == 50)
        let workers = try (0..<2).map { _ in
            try TaskgateProcess.worker(ns, exec: "true", extra: ["--queue", "ops", "--concurrency", "8"])
        }
        defer { workers.forEach { $0.stop() } }
        try await eventually(timeout: 60, "500 rate-limited tasks to succeed") {
            try ns.redis("ZCARD", ns.keys.leases(Self.queue)).int == 0
                && ns.redis("LLEN", ns.keys.pending(Self.queue)).int == 0
                && (try store.task(ids.last!)?.state == .succeeded)
        }
        var starts: [Int] = []
        for id in ids {
            let record = try #require(try store.task(id))
            #expect(record.state == .succeeded)
            starts.append(try #require(record.startedAt?.milliseconds))
        }
        starts.sort()
        // A token bucket of 50/s holding 50 (a second's worth): any span of t ms starts at most 50 + t * 50 / 1000.
        var worst = 0.0
        for i in starts.indices {
            for j in i..<starts.count {
                let allowed = 50 + Double(starts[j] - starts[i]) * 50 / 1000
                worst = max(worst, Double(j - i + 1) - allowed)
            }
        }
        // One token of slack: Redis' clock has whole milliseconds.
        #expect(worst <= 1, "some span started \(worst) more tasks than the limit allows")
        #expect(Set(workers.map { $0.output.contains("task succeeded") }) == [true], "both workers ran tasks")
    }

    @Test func maxActiveCapsConcurrentAttemptsAcrossTwoWorkerProcesses() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let set = try fixture.client.request(
            "PUT", "/queues/ops/limits", headers: ["Content-Type": "application/json"],
            body: Data(#"{"max_active":3}"#.utf8))
        #expect(set.status == 200)
        let workers = try (0..<2).map { _ in
            try TaskgateProcess.worker(ns, exec: "sleep 0.2", extra: ["--queue", "ops", "--concurrency", "4"])
        }
        defer { workers.forEach { $0.stop() } }
        let ids = try (0..<24).map { _ in try fixture.submit(#"{"queue":"ops","payload":1}"#) }
        for id in ids {
            try await eventually(timeout: 60, "task \(id) to succeed") {
                try fixture.task(id)["state"] as? String == "succeeded"
            }
        }
        // Every attempt's span in Redis time, from its claim to its completion.
        var edges: [(at: Int, delta: Int)] = []
        for id in ids {
            let record = try #require(try ns.store.task(TaskID(id)!))
            let start = try #require(record.startedAt?.milliseconds)
            let end = try #require(record.finishedAt?.milliseconds)
            edges += [(start, 1), (end, -1)]
        }
        // Ends before starts at the same millisecond: a completion frees its place before the next claim.
        edges.sort { $0.at == $1.at ? $0.delta < $1.delta : $0.at < $1.at }
        var running = 0
        var peak = 0
        for edge in edges {
            running += edge.delta
            peak = max(peak, running)
        }
        #expect(peak == 3, "8 slots over 24 tasks of 0.2 s ran \(peak) at once with max_active 3")
    }

    @Test func limitsAndPauseRefuseBadRequestsWithProblems() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let bad: [(String, String)] = [
            ("{}", "missing-field"), (#"{"max_per_second":0}"#, "invalid-field"),
            (#"{"max_per_second":"fast"}"#, "invalid-field"), (#"{"max_active":1.5}"#, "invalid-field"),
            (#"{"burst":5}"#, "invalid-field"), (#"{"max_active":2,"speed":1}"#, "unknown-field"),
            ("{", "malformed-json"),
        ]
        for (body, code) in bad {
            let response = try fixture.client.request(
                "PUT", "/queues/ops/limits", headers: ["Content-Type": "application/json"], body: Data(body.utf8))
            #expect(response.status == 400, "\(body)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.json["code"] as? String == code, "\(body): \(response.text)")
        }
        #expect(try ns.redis("EXISTS", ns.keys.control(Self.queue)).int == 0)
        for (method, path) in [
            ("POST", "/queues/a%20b/pause"), ("GET", "/queues/a%20b"), ("DELETE", "/queues/x*/limits"),
        ] {
            let response = try fixture.client.request(method, path, headers: ["Content-Type": "application/json"])
            #expect(response.status == 404, "\(method) \(path)")
            #expect(response.header("Content-Type") == "application/problem+json")
        }
        let badCursor = try fixture.client.get("/queues?limit=0")
        #expect(badCursor.status == 400)
        #expect(badCursor.json["field"] as? String == "limit")
        // Limits set, then removed.
        let set = try fixture.client.request(
            "PUT", "/queues/ops/limits", headers: ["Content-Type": "application/json"],
            body: Data(#"{"max_per_second":2.5,"burst":4,"max_active":9}"#.utf8))
        #expect(set.status == 200)
        let limits = try #require(set.json["limits"] as? [String: Any])
        #expect(limits["max_per_second"] as? Double == 2.5)
        #expect(limits["burst"] as? Int == 4)
        #expect(limits["max_active"] as? Int == 9)
        let removed = try fixture.client.request("DELETE", "/queues/ops/limits")
        #expect(removed.status == 200)
        #expect((removed.json["limits"] as? [String: Any])?["max_active"] is NSNull)
    }

    @Test func onlyAnAdminTokenChangesQueuesAndAReadTokenSeesThem() throws {
        let ns = TestNamespace()
        let tokens = try #require(
            try BearerTokens(["admin:boss-token-000001", "read:viewer-token-0001", "plain-token-00001"]))
        let fixture = try GatewayFixture(namespace: ns, tokens: tokens)
        defer { fixture.stop(); ns.cleanUp() }
        func call(_ method: String, _ path: String, _ token: String?) throws -> TestResponse {
            var headers = ["Content-Type": "application/json"]
            if let token { headers["Authorization"] = "Bearer \(token)" }
            return try fixture.client.request(method, path, headers: headers)
        }
        #expect(try call("GET", "/queues", nil).status == 401)
        #expect(try call("POST", "/queues/ops/pause", "nope").status == 401)
        #expect(try call("GET", "/queues", "viewer-token-0001").status == 200)
        #expect(try call("GET", "/queues/ops", "viewer-token-0001").status == 200)
        for token in ["viewer-token-0001", "plain-token-00001"] {
            let refused = try call("POST", "/queues/ops/pause", token)
            #expect(refused.status == 403, "\(token)")
            #expect(refused.json["code"] as? String == "forbidden")
            #expect(try call("DELETE", "/queues/ops/limits", token).status == 403)
        }
        #expect(try ns.redis("EXISTS", ns.keys.control(Self.queue)).int == 0)
        #expect(try call("POST", "/queues/ops/pause", "boss-token-000001").status == 200)
        #expect(try call("POST", "/tasks", "boss-token-000001").status == 400)
    }

    @Test func withRedisDownEveryOperatorEndpointAnswers503WithRetryAfter() async throws {
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, commandTimeoutMilliseconds: 1_000)
        defer { fixture.stop(); server.stop() }
        let id = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        server.stop()
        let port = fixture.gateway.port
        let calls: [(String, String, String?)] = [
            ("GET", "/queues", nil), ("GET", "/queues/ops", nil), ("GET", "/queues/ops/tasks?state=pending", nil),
            ("POST", "/queues/ops/pause", nil), ("POST", "/queues/ops/resume", nil),
            ("PUT", "/queues/ops/limits", #"{"max_active":2}"#), ("DELETE", "/queues/ops/limits", nil),
            ("POST", "/tasks/\(id)/requeue", nil), ("POST", "/tasks/\(id)/cancel", nil),
            ("DELETE", "/tasks/\(id)", nil),
            ("POST", "/queues/ops/dead/requeue", nil),
        ]
        let answers = try await offThePool {
            let client = HTTPClient(port: port)
            return try calls.map { method, path, body in
                try client.request(
                    method, path, headers: body == nil ? [:] : ["Content-Type": "application/json"],
                    body: body.map { Data($0.utf8) })
            }
        }
        for ((method, path, _), answer) in zip(calls, answers) {
            #expect(answer.status == 503, "\(method) \(path): \(answer.text)")
            #expect(answer.header("Content-Type") == "application/problem+json", "\(method) \(path)")
            #expect(answer.header("Retry-After") != nil, "\(method) \(path)")
        }
        // A batch answers each task: each is refused with the same problem, none is half-stored.
        let batch = try await offThePool {
            try HTTPClient(port: port).post("/tasks/batch", json: #"{"tasks":[{"payload":1},{"payload":2}]}"#)
        }
        #expect(batch.status == 200)
        #expect((batch.json["results"] as? [[String: Any]])?.map { $0["status"] as? Int } == [503, 503])
    }
}

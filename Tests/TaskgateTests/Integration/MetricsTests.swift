import Foundation
import TaskgateCore
import Testing

/// `GET /metrics` on the gateway and on a worker's `--metrics-port`, read by prometheus_client's own parser
/// and checked against what the test did.
@Suite(.dedicatedThreads) struct MetricsTests {
    /// One sample of an exposition.
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// The samples of `text`, as prometheus_client parses them (a text it cannot parse fails the test).
    static func parse(_ text: String) throws -> [Sample] {
        let directory = FileManager.default.temporaryDirectory
        let input = directory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        let output = directory.appendingPathComponent("metrics-\(UUID().uuidString).json")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        try Data(text.utf8).write(to: input)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/lib/parse-metrics")
        let parser = try SpawnedProcess(
            "/usr/bin/env", ["python3", script.path, input.path], environment: ProcessInfo.processInfo.environment,
            outputPath: output.path)
        let status = parser.waitUntilExit()
        let printed = try Data(contentsOf: output)
        guard status == 0 else {
            throw TestFailure(
                "prometheus_client could not parse the exposition: \(String(decoding: printed, as: UTF8.self))")
        }
        let list = try #require(try JSONSerialization.jsonObject(with: printed) as? [[String: Any]])
        return list.map {
            Sample(
                name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:],
                value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
    }

    @Test func theGatewayCountsRequestsAcceptedTasksAndReadsDepthsAtScrapeTime() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let client = fixture.client
        for _ in 0..<3 { _ = try fixture.submit(#"{"payload": 1, "queue": "m1"}"#) }
        _ = try fixture.submit(#"{"payload": 2, "queue": "m2", "delay_seconds": 60}"#)
        #expect(try client.post("/tasks", json: "{not json").status == 400)
        #expect(try client.get("/tasks/m1.00000000000000000000000000000000").status == 404)
        #expect(try client.request("BREW", "/coffee").status == 404)
        let first = try client.get("/metrics")
        #expect(first.status == 200)
        #expect(first.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let samples = try Self.parse(first.text)

        let requests = "taskgate_http_requests_total"
        #expect(Self.value(samples, requests, ["route": "/tasks", "method": "POST", "status": "202"]) == 4)
        #expect(Self.value(samples, requests, ["route": "/tasks", "method": "POST", "status": "400"]) == 1)
        #expect(Self.value(samples, requests, ["route": "/tasks/:id", "method": "GET", "status": "404"]) == 1)
        // Methods and paths outside the API share one label each: clients cannot grow the label set.
        #expect(Self.value(samples, requests, ["route": "unmatched", "method": "other", "status": "404"]) == 1)
        #expect(
            Self.value(samples, "taskgate_http_request_duration_seconds_count", ["route": "/tasks", "method": "POST"])
                == 5)
        #expect(Self.value(samples, "taskgate_tasks_accepted_total", ["queue": "m1"]) == 3)
        #expect(Self.value(samples, "taskgate_tasks_accepted_total", ["queue": "m2"]) == 1)
        #expect(Self.value(samples, "taskgate_queue_depth", ["queue": "m1", "state": "pending"]) == 3)
        #expect(Self.value(samples, "taskgate_queue_depth", ["queue": "m2", "state": "scheduled"]) == 1)
        #expect(Self.value(samples, "taskgate_queue_depth", ["queue": "m2", "state": "pending"]) == 0)
        #expect(Self.value(samples, "taskgate_queue_paused", ["queue": "m1"]) == 0)
        #expect(Self.value(samples, "taskgate_queue_oldest_pending_age_seconds", ["queue": "m1"]) ?? -1 >= 0)

        // The first scrape is counted in the next one, and depths follow Redis.
        _ = try ns.redis("LPOP", ns.keys.pending(QueueName("m1")!))
        let second = try Self.parse(try client.get("/metrics").text)
        #expect(Self.value(second, requests, ["route": "/metrics", "method": "GET", "status": "200"]) == 1)
        #expect(Self.value(second, "taskgate_queue_depth", ["queue": "m1", "state": "pending"]) == 2)
    }

    @Test func withRedisDownTheGatewayCountsRedisErrorsAndAScrapeIs503() async throws {
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        _ = try fixture.submit(#"{"payload": 1}"#)
        server.stop()
        #expect(try fixture.client.post("/tasks", json: #"{"payload": 1}"#).status == 503)
        let refused = try fixture.client.get("/metrics")
        #expect(refused.status == 503)
        #expect(refused.header("content-type") == "application/problem+json")
        let samples = try Self.parse(String(decoding: fixture.gateway.metrics.exposition.text(), as: UTF8.self))
        #expect(samples.filter { $0.name == "taskgate_redis_errors_total" }.reduce(0) { $0 + $1.value } >= 1)
        #expect(Self.value(samples, "taskgate_http_requests_total", ["route": "/tasks", "status": "503"]) == 1)
    }

    @Test func aWorkerCountsWhatBecameOfItsTasksOnItsMetricsPort() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let store = ns.store
        var ids: [TaskID] = []
        for _ in 0..<3 { ids.append(try store.enqueue(TaskSubmission(payload: .integer(1), type: "ok")).id) }
        ids.append(try store.enqueue(TaskSubmission(payload: .string("fail"), type: "bad", maxRetries: 1)).id)
        let worker = try TaskgateProcess.worker(
            ns, exec: #"test "$(cat)" != '"fail"'"#,
            extra: ["--concurrency", "2", "--metrics-port", "0", "--metrics-host", "127.0.0.1"])
        defer { worker.stop() }
        try await eventually("every task to end") { try ids.allSatisfy { try store.task($0)?.state.isFinal == true } }
        let port = try await eventuallyValue("the metrics address in the log") { () -> Int? in
            guard let range = worker.output.range(of: #"127\.0\.0\.1:[0-9]+/metrics"#, options: .regularExpression)
            else { return nil }
            return Int(worker.output[range].dropFirst("127.0.0.1:".count).prefix { $0.isNumber })
        }
        let client = HTTPClient(port: port)
        // Succeeded attempts are counted as they are handed to Redis; read until the last has been.
        let samples = try await eventuallyValue("the counts of four tasks and five attempts") { () -> [Sample]? in
            let samples = try Self.parse(try client.get("/metrics").text)
            let started = Self.value(samples, "taskgate_worker_tasks_started_total", ["queue": "default"])
            let dead = Self.value(samples, "taskgate_worker_tasks_dead_total", ["queue": "default"])
            return started == 5 && dead == 1 ? samples : nil
        }
        let queue = ["queue": "default"]
        #expect(Self.value(samples, "taskgate_worker_tasks_succeeded_total", queue) == 3)
        #expect(Self.value(samples, "taskgate_worker_tasks_failed_total", queue) == 2)
        #expect(Self.value(samples, "taskgate_worker_tasks_retried_total", queue) == 1)
        #expect(Self.value(samples, "taskgate_worker_tasks_recovered_total", queue) == 0)
        #expect(Self.value(samples, "taskgate_worker_task_duration_seconds_count", ["type": "ok"]) == 3)
        #expect(Self.value(samples, "taskgate_worker_task_duration_seconds_count", ["type": "bad"]) == 2)
        #expect(Self.value(samples, "taskgate_worker_slots") == 2)
        #expect(Self.value(samples, "taskgate_worker_slots_busy") == 0)
        #expect(try client.get("/other").status == 404)
        #expect(try client.post("/metrics", json: "{}").status == 405)
    }
}

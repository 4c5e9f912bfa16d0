import Foundation
import Logging
import Synchronization
import TaskgateCore
import TaskgateGateway
import TaskgateHTTP
import Testing

@Suite(.dedicatedThreads) struct FaultTests {
    @Test func gatewayAnswers503WhileRedisIsDownAndRecoversByItself() async throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }

        let id = try fixture.submit(#"{"payload":"before"}"#)
        server.stop()

        let refused = try fixture.client.post("/tasks", json: #"{"payload":"during"}"#)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        expectProblem(refused, code: "redis-unavailable")
        let lookup = try fixture.client.get("/tasks/\(id)")
        #expect(lookup.status == 503)
        expectProblem(lookup, code: "redis-unavailable")
        let ready = try fixture.client.get("/readyz")
        #expect(ready.status == 503)
        #expect(ready.header("Retry-After") == "1")
        #expect(try fixture.client.get("/healthz").status == 200)

        try server.restart()
        try await eventually("the gateway to accept again") {
            try fixture.client.post("/tasks", json: #"{"payload":"after"}"#).status == 202
        }
        #expect(try fixture.client.get("/readyz").status == 200)
    }

    @Test func anUnreachableRedisIs503AndARetryWithTheSameKeyCreatesOneTask() async throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, commandTimeoutMilliseconds: 300)
        defer { fixture.stop() }
        let pid = try #require(server.pid)
        let post = {
            try await offThePool {
                try fixture.client.request(
                    "POST", "/tasks", headers: ["Content-Type": "application/json", "Idempotency-Key": "frozen-1"],
                    body: Data(#"{"payload":"once"}"#.utf8))
            }
        }

        // A frozen Redis accepts the bytes but never answers: like a host that went away mid-request.
        kill(pid, SIGSTOP)
        let refused = try await post()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        expectProblem(refused, code: "redis-unavailable")
        #expect(try await offThePool { try fixture.client.get("/readyz") }.status == 503)
        kill(pid, SIGCONT)

        // The frozen request may have been carried out once Redis woke up; the retry must not add a second task.
        try await eventually("the gateway to answer again") { try fixture.client.get("/readyz").status == 200 }
        let retried = try await post()
        #expect([200, 202].contains(retried.status))
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
        #expect(try await post().status == 200)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }

    @Test func redisCrashedUnderLoadLosesNoAcceptedTask() async throws {
        let server = RedisServer(persistent: true)
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let worker = try TaskgateProcess.worker(
            ns, exec: "cat",
            extra: ["--concurrency", "4", "--lease-seconds", "1", "--recovery-interval-seconds", "0.1"])
        defer { worker.stop() }
        let accepted = AcceptedTasks()
        let producers = 4
        let perProducer = 250

        // Producers post without pause, each task retried with its Idempotency-Key until it is accepted.
        let load = Task(executorPreference: TestThreadPool.shared) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for producer in 0..<producers {
                    group.addTask {
                        for index in 0..<perProducer {
                            let key = "load-\(producer)-\(index)"
                            while true {
                                let response = try? await offThePool {
                                    try fixture.client.request(
                                        "POST", "/tasks",
                                        headers: ["Content-Type": "application/json", "Idempotency-Key": key],
                                        body: Data(#"{"payload":"\#(key)"}"#.utf8))
                                }
                                if let response, [200, 202].contains(response.status),
                                    let id = response.json["id"] as? String
                                {
                                    accepted.ids.withLock { $0[key] = id }
                                    break
                                }
                                accepted.refusals.add(1, ordering: .relaxed)
                                try await Task.sleep(for: .milliseconds(50))  // back off while Redis is away
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await eventually("a first share of tasks to be accepted") { accepted.ids.withLock { $0.count } >= 100 }
        server.stop()  // SIGKILL: a crash, not a clean shutdown
        // Stay down until producers have been refused, so the restart surely happens under load.
        try await eventually("producers to be refused while Redis is down") {
            accepted.refusals.load(ordering: .relaxed) >= producers
        }
        try server.restart()
        try await load.value

        let ids = accepted.ids.withLock { $0 }
        #expect(ids.count == producers * perProducer)
        #expect(Set(ids.values).count == ids.count)
        try await eventually(timeout: 60, "every accepted task to succeed") {
            try ids.values.allSatisfy { try ns.store.task(TaskID($0)!)?.state == .succeeded }
        }
        for (key, id) in ids {
            #expect(try ns.store.task(TaskID(id)!)?.result == .string(key))
        }
    }

    @Test func gatewayProcessExitsCleanlyOnSIGTERM() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let port = freePort()
        let gateway = try TaskgateProcess([
            "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", ns.server.url,
            "--key-prefix", ns.keys.prefix,
        ])
        defer { gateway.stop() }
        let client = HTTPClient(port: port)
        try await eventually("the gateway to listen") { (try? client.get("/healthz"))?.status == 200 }
        #expect(try client.post("/tasks", json: #"{"payload":1}"#).status == 202)
        gateway.signal(SIGTERM)
        #expect(try await gateway.waitForExit() == 0)
        #expect(gateway.output.contains("stopped"))
        #expect(throws: TestFailure.self) { try client.get("/healthz") }
    }
}

@Suite(.dedicatedThreads) struct RecoveryTests {
    @Test func workerResumesAfterRedisComesBack() async throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let worker = try TaskgateProcess.worker(ns, exec: "echo ran")
        defer { worker.stop() }

        let before = try ns.store.enqueue(TaskSubmission(payload: .integer(1)))
        try await eventually("the first task to run") { try ns.store.task(before.id)?.state == .succeeded }
        server.stop()
        try await eventually("the worker to notice the outage") { worker.output.contains("claim failed, retrying") }
        try server.restart()
        let after = try ns.store.enqueue(TaskSubmission(payload: .integer(2)))
        try await eventually("the worker to reconnect and run the next task") {
            try ns.store.task(after.id)?.state == .succeeded
        }
        #expect(worker.process.isRunning)
    }

    @Test func passwordProtectedRedisWorksAndAWrongPasswordIsNotReady() async throws {
        let server = RedisServer(password: "s3cret")
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        #expect(try fixture.client.get("/readyz").status == 200)
        #expect(try fixture.client.post("/tasks", json: #"{"payload":1}"#).status == 202)

        let port = freePort()
        let wrong = try TaskgateProcess([
            "serve", "--host", "127.0.0.1", "--port", String(port),
            "--redis-url", "redis://:wrong@127.0.0.1:\(server.port)/0",
        ])
        defer { wrong.stop() }
        let client = HTTPClient(port: port)
        try await eventually("the gateway to listen") { (try? client.get("/healthz"))?.status == 200 }
        let ready = try client.get("/readyz")
        #expect(ready.status == 503)
        expectProblem(ready, code: "redis-unavailable")
        #expect(try client.post("/tasks", json: #"{"payload":1}"#).status == 503)
    }

    @Test func aSecondGatewayOnABusyPortFailsToStart() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let configuration = GatewayConfiguration(
            http: HTTPServerConfiguration(host: "127.0.0.1", port: fixture.gateway.port),
            redis: ns.server.configuration, keys: ns.keys)
        let second = Gateway(configuration: configuration, logger: Logger(label: "second"))
        #expect(throws: HTTPServerError.self) { try second.start() }
        #expect(try fixture.client.get("/healthz").status == 200)
    }

    @Test(arguments: [
        (["worker", "--redis-url", "redis://127.0.0.1:1/0"], "--exec"),
        (["worker", "--exec", "true", "--queue", "a b"], "queue must match"),
        (["worker", "--exec", "true", "--queue", "a=0"], "queue must match"),
        (["worker", "--exec", "true", "--queue", "a", "--queue", "a=2"], "queue a is given twice"),
        (["worker", "--exec", "true", "--metrics-port", "70000"], "--metrics-port must be 0-65535"),
        (["serve", "--allowed-hosts", "taskgate.internal,not a host"], "'not a host' is not a host name or address"),
        (["serve", "--queues", "mail,no spaces"], "'no spaces' is not a queue name"),
        (["token", "--scope", "root"], "'root' is not a list of submit, read, worker, admin"),
        (["serve", "--redis-url", "http://nope"], "redis://"),
        (["serve", "--host", "not-an-ip", "--port", "0"], "IPv4 or IPv6"),
        (["serve", "--max-body-bytes", "0"], "TASKGATE_MAX_BODY_BYTES"),
        (["serve", "--api-token-file", "/nonexistent/tokens"], "cannot read the API token file"),
        (["worker", "--exec", "true", "--lease-seconds", "0"], "TASKGATE_LEASE_SECONDS"),
        (["serve", "--callback-allow", "bad_host!"], "callback allow-list entry"),
        (["worker", "--exec", "true", "--callback-allow", "10.0.0.0/99"], "callback allow-list entry"),
        (["worker", "--exec", "true", "--callback-retry-delays", "5,soon"], "callback retry delays"),
        (["serve", "--max-inflight-body-bytes", "10"], "TASKGATE_MAX_INFLIGHT_BODY_BYTES"),
    ])
    func badConfigurationExitsWithAClearMessage(_ arguments: [String], _ message: String) async throws {
        let process = try TaskgateProcess(arguments)
        defer { process.stop() }
        #expect(try await process.waitForExit(timeout: 20) != 0)
        #expect(process.output.contains(message))
    }
}

@Suite(.dedicatedThreads) struct RedisStateTests {
    @Test func redisOutOfMemoryIsA503AndStoresNothing() throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        #expect(try fixture.client.post("/tasks", json: #"{"payload":1}"#).status == 202)

        _ = try ns.redis("CONFIG", "SET", "maxmemory-policy", "noeviction")
        _ = try ns.redis("CONFIG", "SET", "maxmemory", "1")
        let refused = try fixture.client.post("/tasks", json: #"{"payload":2}"#)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        expectProblem(refused, code: "redis-unavailable")
        _ = try ns.redis("CONFIG", "SET", "maxmemory", "0")
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
        #expect(try fixture.client.post("/tasks", json: #"{"payload":3}"#).status == 202)
    }

    @Test func anUnreadableRecordIsA500Problem() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = TaskID.generate(queue: .default)
        _ = try ns.redis("HSET", ns.keys.task(id), "id", id.rawValue, "state", "no-such-state")
        let response = try fixture.client.get("/tasks/\(id.rawValue)")
        #expect(response.status == 500)
        expectProblem(response, code: "internal-error")
    }

    @Test func aTaskFinishedWhileRedisIsDownIsRecordedWhenItReturns() async throws {
        let server = RedisServer(persistent: true)
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let started = directory.appendingPathComponent("started").path
        let release = directory.appendingPathComponent("release").path
        let worker = try TaskgateProcess.worker(
            ns, exec: "touch \(started); while [ ! -f \(release) ]; do sleep 0.02; done; echo done")
        defer { worker.stop() }

        let record = try ns.store.enqueue(TaskSubmission(payload: .null))
        try await eventually("the task to start") { FileManager.default.fileExists(atPath: started) }
        server.stop()
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        try await eventually("the worker to retry recording the outcome") {
            worker.output.contains("complete failed, retrying")
        }
        try server.restart()
        try await eventually("the outcome to be recorded") { try ns.store.task(record.id)?.state == .succeeded }
        #expect(try ns.store.task(record.id)?.result == "done\n")
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
    }
}

/// Idempotency keys to the task ids the gateway gave for them, filled by concurrent producers.
private final class AcceptedTasks: Sendable {
    let ids = Mutex<[String: String]>([:])
    /// POSTs answered with anything but 200/202 (503 while Redis was down), or not answered.
    let refusals = Atomic<Int>(0)
}

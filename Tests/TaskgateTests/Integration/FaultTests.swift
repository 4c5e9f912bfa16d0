import Foundation
import Logging
import TaskgateCore
import TaskgateGateway
import TaskgateHTTP
import Testing

@Suite struct FaultTests {
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

@Suite struct RecoveryTests {
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
        (["serve", "--redis-url", "http://nope"], "redis://"),
        (["serve", "--host", "not-an-ip", "--port", "0"], "IPv4 or IPv6"),
        (["serve", "--max-body-bytes", "0"], "TASKGATE_MAX_BODY_BYTES"),
    ])
    func badConfigurationExitsWithAClearMessage(_ arguments: [String], _ message: String) async throws {
        let process = try TaskgateProcess(arguments)
        defer { process.stop() }
        #expect(try await process.waitForExit(timeout: 20) != 0)
        #expect(process.output.contains(message))
    }
}

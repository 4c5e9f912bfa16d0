import Foundation
import Testing
import TaskgateCore

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

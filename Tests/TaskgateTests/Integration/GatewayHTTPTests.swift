import Foundation
import TaskgateCore
import Testing

@Suite(.dedicatedThreads) struct GatewayHTTPTests {
    @Test func postAnswers202WithLocationAndStoresThePendingTask() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.post("/tasks", json: #"{"payload":"task1"}"#)
        #expect(response.status == 202)
        #expect(response.header("Content-Type") == "application/json")
        let id = try #require(response.json["id"] as? String)
        #expect(response.header("Location") == "/tasks/\(id)")
        #expect(response.json["queue"] as? String == "default")
        #expect(response.json["state"] as? String == "pending")
        #expect(response.json["payload"] as? String == "task1")
        #expect(try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array?.compactMap(\.string) == [id])
    }

    @Test func getReportsTheWholeTask() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(
            #"{"payload":{"n":[1,2.5,"é"]},"type":"report","queue":"reports","max_retries":3,"timeout_seconds":1.5}"#)
        let response = try fixture.client.get("/tasks/\(id)")
        #expect(response.status == 200)
        let task = response.json
        #expect(task["id"] as? String == id)
        #expect(task["queue"] as? String == "reports")
        #expect(task["type"] as? String == "report")
        #expect(task["state"] as? String == "pending")
        #expect(task["retries"] as? Int == 0)
        #expect(task["max_retries"] as? Int == 3)
        #expect(task["attempts"] as? Int == 0)
        #expect(task["timeout_seconds"] as? Double == 1.5)
        #expect((task["payload"] as? [String: Any])?["n"] as? [AnyHashable] == [1, 2.5, "é"] as [AnyHashable])
        #expect(task["result"] is NSNull)
        #expect(task["last_error"] is NSNull)
        #expect(task["started_at"] is NSNull)
        let created = try #require(task["created_at"] as? String)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(formatter.date(from: created) != nil)
        #expect(
            Set(task.keys) == [
                "id", "queue", "type", "state", "retries", "max_retries", "attempts", "timeout_seconds", "payload",
                "result",
                "last_error", "created_at", "updated_at", "run_at", "started_at", "finished_at", "seq",
            ])
        #expect(try ns.redis("LLEN", ns.keys.pending(QueueName("reports")!)).int == 1)
    }

    @Test func retriesEndpointReportsTheCounter() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1,"max_retries":7}"#)
        let response = try fixture.client.get("/tasks/\(id)/retries")
        #expect(response.status == 200)
        #expect(response.json["id"] as? String == id)
        #expect(response.json["retries"] as? Int == 0)
        #expect(response.json["max_retries"] as? Int == 7)
        #expect(response.json.count == 3)
    }

    @Test func delayedTaskIsScheduled() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.post("/tasks", json: #"{"payload":1,"delay_seconds":30}"#)
        #expect(response.status == 202)
        #expect(response.json["state"] as? String == "scheduled")
        #expect(try ns.redis("ZCARD", ns.keys.scheduled(.default)).int == 1)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
    }

    @Test(arguments: [
        "/tasks/default.0123456789abcdef0123456789abcdef", "/tasks/default.0123456789abcdef0123456789abcdef/retries",
        "/tasks/nonsense", "/tasks/nonsense/retries", "/nowhere", "/dashboard/nothing.js",
    ])
    func unknownResourcesAre404Problems(_ path: String) throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.get(path)
        #expect(response.status == 404)
        expectProblem(response, code: "not-found")
    }

    @Test(
        arguments: [
            (#"{"payload":"#, "malformed-json", nil),
            (#"not json"#, "malformed-json", nil),
            (#"{"payload":1,"max_retries":"5"}"#, "invalid-field", "/max_retries"),
            (#"{"payload":1,"max_retries":1000}"#, "invalid-field", "/max_retries"),
            (#"{"payload":1,"delay_seconds":-3}"#, "invalid-field", "/delay_seconds"),
            (#"{"payload":1,"queue":"../etc"}"#, "invalid-field", "/queue"),
            (#"{"payload":1,"colour":"red"}"#, "unknown-field", "/colour"),
            (#"{"type":"x"}"#, "missing-field", "/payload"),
            (#"[]"#, "invalid-field", ""),
        ] as [(String, String, String?)])
    func badBodiesAre400ProblemsNamingTheField(_ body: String, _ code: String, _ field: String?) throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.post("/tasks", json: body)
        #expect(response.status == 400)
        expectProblem(response, code: code)
        #expect(response.json["field"] as? String == field)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
    }

    /// A `%00` in a query value is part of the value: the whole value is checked, not the part before it (a
    /// C string would end there, and schemathesis found a 257-byte type filter let through as empty).
    @Test func aQueryValueWithAnEncodedNULIsCheckedWhole() throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        let tooLong = try fixture.client.get(
            "/queues/q/tasks?state=pending&type=%00" + String(repeating: "x", count: 256))
        #expect(tooLong.status == 400, "\(tooLong.text)")
        #expect(tooLong.json["code"] as? String == "invalid-parameter" && tooLong.json["field"] as? String == "type")
        // A short one is a filter that matches no task (no type holds a NUL), not an empty filter.
        _ = try fixture.submit(#"{"queue":"q","type":"a","payload":{}}"#)
        let short = try fixture.client.get("/queues/q/tasks?state=pending&type=%00a")
        #expect(short.status == 200 && (short.json["tasks"] as? [Any])?.isEmpty == true, "\(short.text)")
        let plain = try fixture.client.get("/queues/q/tasks?state=pending&type=a")
        #expect((plain.json["tasks"] as? [Any])?.count == 1, "\(plain.text)")
    }

    @Test func wrongMediaTypeIs415() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.post("/tasks", json: #"{"payload":1}"#, contentType: "text/plain")
        #expect(response.status == 415)
        expectProblem(response, code: "unsupported-media-type")
        let missing = try fixture.client.request("POST", "/tasks", body: Data(#"{"payload":1}"#.utf8))
        #expect(missing.status == 415)
        let withCharset = try fixture.client.post(
            "/tasks", json: #"{"payload":1}"#, contentType: "application/json; charset=utf-8")
        #expect(withCharset.status == 202)
    }

    @Test(arguments: [
        ("DELETE", "/tasks", "POST"), ("GET", "/tasks", "POST"), ("PUT", "/tasks/x", "GET, DELETE, HEAD"),
        ("POST", "/healthz", "GET, HEAD"), ("DELETE", "/tasks/x/retries", "GET, HEAD"),
    ])
    func wrongMethodIs405WithAllow(_ method: String, _ path: String, _ allow: String) throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.request(method, path)
        #expect(response.status == 405)
        #expect(response.header("Allow") == allow)
        expectProblem(response, code: "method-not-allowed")
    }

    @Test func declaredOversizedBodyIs413BeforeTheBodyIsSent() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, maxBodyBytes: 1024)
        defer { fixture.stop(); ns.cleanUp() }

        // Only the head is sent: the answer comes without the server waiting for (or buffering) the body.
        let head =
            "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
        let response = try fixture.client.exchange(rawRequest: Data(head.utf8))
        #expect(response.status == 413)
        expectProblem(response, code: "payload-too-large")
    }

    @Test func chunkedOversizedBodyIs413() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, maxBodyBytes: 1024)
        defer { fixture.stop(); ns.cleanUp() }

        let chunk = String(repeating: "x", count: 512)
        var raw =
            "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        raw += "{\"payload\":\""
            .count.hexChunk("{\"payload\":\"")
        for _ in 0..<8 { raw += "200\r\n\(chunk)\r\n" }
        raw += "2\r\n\"}\r\n0\r\n\r\n"
        let response = try fixture.client.exchange(rawRequest: Data(raw.utf8))
        #expect(response.status == 413)
        expectProblem(response, code: "payload-too-large")
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)

        let small = try fixture.client.post("/tasks", json: #"{"payload":"fits"}"#)
        #expect(small.status == 202)
    }

    @Test func healthAndReadiness() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let health = try fixture.client.get("/healthz")
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")
        let ready = try fixture.client.get("/readyz")
        #expect(ready.status == 200)
        #expect(ready.json["status"] as? String == "ready")
    }

    @Test func servesConcurrentClients() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let client = fixture.client
        let ids = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<40 {
                group.addTask { try client.post("/tasks", json: "{\"payload\":\(index)}").json["id"] as? String }
            }
            return try await group.reduce(into: Set<String>()) { if let id = $1 { $0.insert(id) } }
        }
        #expect(ids.count == 40)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 40)
    }
}

/// Checks the RFC 9457 shape every error must have.
func expectProblem(_ response: TestResponse, code: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.header("Content-Type") == "application/problem+json", sourceLocation: sourceLocation)
    let problem = response.json
    #expect(problem["type"] as? String == "urn:taskgate:problem:\(code)", sourceLocation: sourceLocation)
    #expect(problem["code"] as? String == code, sourceLocation: sourceLocation)
    #expect(problem["status"] as? Int == response.status, sourceLocation: sourceLocation)
    #expect((problem["title"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    #expect((problem["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
}

extension Int {
    fileprivate func hexChunk(_ text: String) -> String {
        String(self, radix: 16) + "\r\n" + text + "\r\n"
    }
}

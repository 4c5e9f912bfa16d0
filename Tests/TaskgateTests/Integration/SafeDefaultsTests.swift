import Foundation
import Glibc
import TaskgateCore
import TaskgateGateway
import TaskgateRedis
import Testing

/// Safe by default: what a gateway without tokens refuses, the bounds a client cannot grow past, and the secrets
/// and control characters that stay where they belong. Real processes, real sockets, a real Redis.
@Suite(.dedicatedThreads) struct SafeDefaultsTests {
    /// A raw request with the `Host` (and `Origin`) given, for the checks a normal client never trips.
    private func raw(
        _ client: HTTPClient, _ method: String, _ path: String, host: String, origin: String? = nil,
        body: String? = nil
    ) throws -> TestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        if let origin { head += "Origin: \(origin)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return try client.exchange(rawRequest: Data((head + "\r\n" + (body ?? "")).utf8))
    }

    @Test func withoutTokensServeRefusesEveryInterfaceUnlessToldAndThenWarns() async throws {
        let refused = try TaskgateProcess(["serve", "--host", "0.0.0.0", "--port", String(freePort())])
        defer { refused.stop() }
        #expect(try await refused.waitForExit() != 0)
        #expect(refused.output.contains("no API token is configured"))
        #expect(refused.output.contains("--allow-unauthenticated"))

        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let port = freePort()
        let open = try TaskgateProcess(
            [
                "serve", "--host", "0.0.0.0", "--port", String(port), "--redis-url", ns.server.url, "--key-prefix",
                ns.keys.prefix,
            ], environment: ["TASKGATE_ALLOW_UNAUTHENTICATED": "1"])
        defer { open.stop() }
        let client = HTTPClient(port: port)
        let ready = try await eventuallyValue("the open gateway to be ready") { () -> TestResponse? in
            guard let response = try? client.get("/readyz"), response.status == 200 else { return nil }
            return response
        }
        #expect(ready.json["auth"] as? String == "open")
        #expect((ready.json["warning"] as? String)?.contains("--allow-unauthenticated") == true)
        #expect(open.output.contains("anyone who reaches it controls every queue"))

        // No --host and no token: loopback only, and no warning.
        let localPort = freePort()
        let local = try TaskgateProcess([
            "serve", "--port", String(localPort), "--redis-url", ns.server.url, "--key-prefix", ns.keys.prefix,
        ])
        defer { local.stop() }
        let localReady = try await eventuallyValue("the loopback gateway to be ready") { () -> TestResponse? in
            guard let response = try? HTTPClient(port: localPort).get("/readyz"), response.status == 200 else {
                return nil
            }
            return response
        }
        #expect(local.output.contains("host=127.0.0.1"))
        #expect(localReady.json["auth"] as? String == "open" && localReady.json["warning"] == nil)
    }

    @Test func withoutTokensAnUnknownHostGets421AndAnotherOrigin403AndNothingChanges() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, openAccess: OpenAccess(allowedHosts: ["Taskgate.Internal"]))
        defer { fixture.stop(); ns.cleanUp() }
        let client = fixture.client
        let port = fixture.gateway.port
        let task = #"{"payload":1}"#

        // DNS rebinding: a name the gateway does not know.
        let misdirected = try raw(client, "POST", "/tasks", host: "evil.example:\(port)", body: task)
        #expect(misdirected.status == 421)
        #expect(misdirected.header("content-type") == "application/problem+json")
        #expect(misdirected.json["code"] as? String == "misdirected-request")
        #expect(try raw(client, "GET", "/queues", host: "10.0.0.5:\(port)").status == 421)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
        // Loopback names and addresses, and the allowed host, are served; so are the probes whatever the Host.
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)", "taskgate.internal", "app.localhost"] {
            #expect(try raw(client, "POST", "/tasks", host: host, body: task).status == 202, "\(host)")
        }
        #expect(try raw(client, "GET", "/healthz", host: "evil.example").status == 200)

        // Cross-site forgery: a page of another origin pausing a queue or posting a task.
        let forged = try raw(
            client, "POST", "/queues/default/pause", host: "127.0.0.1:\(port)", origin: "http://evil.example")
        #expect(forged.status == 403)
        #expect(forged.header("content-type") == "application/problem+json")
        #expect(forged.json["code"] as? String == "cross-origin")
        #expect(try ns.redis("HGET", ns.keys.control(.default), "paused").string == nil)
        let before = try ns.redis("LLEN", ns.keys.pending(.default)).int
        for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
            let refused = try raw(client, "POST", "/tasks", host: "127.0.0.1:\(port)", origin: origin, body: task)
            #expect(refused.status == 403, "\(origin)")
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == before)
        // The gateway's own page (same origin) is served.
        let own = try raw(
            client, "POST", "/queues/default/pause", host: "127.0.0.1:\(port)", origin: "http://127.0.0.1:\(port)")
        #expect(own.status == 200)
    }

    @Test func withTokensNeitherHostNorOriginIsAskedFor() throws {
        let ns = TestNamespace()
        let token = "admin:0123456789abcdef0123"
        let fixture = try GatewayFixture(namespace: ns, tokens: try BearerTokens([token]))
        defer { fixture.stop(); ns.cleanUp() }
        let head =
            "POST /tasks HTTP/1.1\r\nHost: taskgate.example.com\r\nOrigin: https://app.example.com\r\n"
            + "Authorization: Bearer 0123456789abcdef0123\r\nContent-Type: application/json\r\nContent-Length: 13\r\n"
            + "Connection: close\r\n\r\n{\"payload\":1}"
        #expect(try fixture.client.exchange(rawRequest: Data(head.utf8)).status == 202)
        #expect(try fixture.client.get("/readyz").json["auth"] as? String == "tokens")
    }

    @Test func theThousandAndFirstQueueIsRefusedUntilAnAbandonedOneIsPruned() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        // A thousand new queues in one batch: each admitted once.
        let tasks = (0..<QueueRegistry.defaultMaxQueues).map { #"{"queue":"q\#($0)","payload":\#($0)}"# }
        let batch = try fixture.client.post("/tasks/batch", json: #"{"tasks":[\#(tasks.joined(separator: ","))]}"#)
        #expect(batch.status == 200)
        let results = batch.json["results"] as? [[String: Any]] ?? []
        #expect(results.count == 1_000 && results.allSatisfy { $0["status"] as? Int == 202 })
        #expect(try ns.redis("ZCARD", ns.keys.queues).int == 1_000)

        let refused = try fixture.client.post("/tasks", json: #"{"queue":"q1000","payload":1}"#)
        #expect(refused.status == 409)
        #expect(refused.header("content-type") == "application/problem+json")
        #expect(refused.json["code"] as? String == "too-many-queues" && refused.json["field"] as? String == "/queue")
        #expect(try ns.redis("LLEN", ns.keys.pending(QueueName("q1000")!)).int == 0)
        // In a batch, the new queue's task is refused in its place and the others are stored.
        let mixed = try fixture.client.post(
            "/tasks/batch", json: #"{"tasks":[{"queue":"q5","payload":1},{"queue":"q1001","payload":2}]}"#)
        let mixedResults = mixed.json["results"] as? [[String: Any]] ?? []
        #expect(mixedResults.map { $0["status"] as? Int } == [202, 409])
        #expect((mixedResults.last?["problem"] as? [String: Any])?["field"] as? String == "/tasks/1/queue")
        // The bound is Redis', not one gateway's: another gateway refuses too.
        let other = try GatewayFixture(namespace: ns)
        defer { other.stop() }
        #expect(try other.client.post("/tasks", json: #"{"queue":"q1002","payload":1}"#).status == 409)
        // A pull claim registers its queue within the same bound, so it cannot grow the gateway's maintenance.
        let claim = try fixture.client.post("/queues/q1003/claim", json: "{}")
        #expect(claim.status == 409 && claim.json["code"] as? String == "too-many-queues")
        #expect(try fixture.client.post("/queues/q3/claim", json: "{}").status == 200)
        #expect(try ns.redis("ZCARD", ns.keys.queues).int == 1_000)

        // A queue emptied of its only task, never run, is abandoned: pruned, its place is free.
        let emptied = try #require((results[7]["task"] as? [String: Any])?["id"] as? String)
        #expect(try fixture.client.request("DELETE", "/tasks/\(emptied)").status == 200)
        #expect(try fixture.client.post("/queues/q8/pause", json: "").status == 200)
        let operations = GatewayResponder.Operations(pool: ns.pool, keys: ns.keys)
        let pruned = try operations.pruner.prune()
        // q7 only: every other queue holds a pending task, and q8 is paused besides.
        #expect(pruned == [QueueName("q7")!])
        #expect(try fixture.client.post("/tasks", json: #"{"queue":"q1000","payload":1}"#).status == 202)
    }

    @Test func queuesPastTheLabelBoundAreSummedUnderOther() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, metricsMaxQueues: 2)
        defer { fixture.stop(); ns.cleanUp() }
        for queue in ["alpha", "beta", "gamma", "delta"] {
            _ = try fixture.submit(#"{"queue":"\#(queue)","payload":1}"#)
        }
        let text = try fixture.client.get("/metrics").text
        #expect(text.contains(#"queue="alpha""#) && text.contains(#"queue="beta""#))
        #expect(!text.contains(#"queue="gamma""#) && !text.contains(#"queue="delta""#))
        let other = text.split(separator: "\n").filter { $0.hasPrefix("taskgate_tasks_accepted_total") }
            .filter { $0.contains(#"queue="_other""#) }
        #expect(other.count == 1 && other.first?.hasSuffix(" 2") == true, "\(other)")
        let pending = text.split(separator: "\n").first {
            $0.hasPrefix("taskgate_queue_depth") && $0.contains(#"queue="_other""#) && $0.contains(#"state="pending""#)
        }
        #expect(pending.flatMap { Double($0.split(separator: " ").last ?? "") } == 2, "\(pending ?? "none")")
    }

    @Test func aStreamOfAThousandUnknownQueuesSubscribesToNothing() async throws {
        // A Redis of its own: its command counts are this test's alone.
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }
        func calls(_ command: String) throws -> Int {
            let info = try ns.redis("INFO", "commandstats").string ?? ""
            guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(command):") }),
                let field = line.split(separator: ",").first(where: { $0.contains("calls=") })
            else { return 0 }
            return Int(field.split(separator: "=").last ?? "") ?? 0
        }
        // As many names as one request head holds: libmicrohttpd's 16 KiB per connection takes about 250 query
        // arguments (each is a header record of its pool), so a thousand never reach the gateway at all. None was
        // ever used.
        let names = (0..<200).map { String($0) }
        let path = "/events?" + names.map { "queue=\($0)" }.joined(separator: "&")
        let response = try await offThePool { [port = fixture.gateway.port] in try HTTPClient(port: port).get(path) }
        #expect(response.status == 404)
        #expect(response.header("content-type") == "application/problem+json")
        #expect(fixture.gateway.events.registrationCount == 0)
        #expect(try calls("ssubscribe") + calls("subscribe") == 0)
        // One look for all thousand names.
        #expect(try calls("zmscore") == 1)

        // Registered queues are followed, their subscriptions sent together.
        try fixture.register("mail", "reports", "ops")
        let stream = try EventStreamClient(
            port: fixture.gateway.port, path: "/events?queue=mail&queue=reports&queue=ops")
        try stream.readHead()
        #expect(stream.status == 200)
        #expect(fixture.gateway.events.registrationCount == 3)
        #expect(try calls("ssubscribe") + calls("subscribe") == 3)
        stream.disconnect()
    }

    @Test func anEmptySecretOrAShortTokenStopsTheGatewayNamingTheLine() async throws {
        let empty = try TaskgateProcess(
            ["serve", "--port", String(freePort())], environment: ["TASKGATE_API_TOKENS": "admin:"])
        defer { empty.stop() }
        #expect(try await empty.waitForExit() != 0)
        #expect(empty.output.contains("TASKGATE_API_TOKENS, entry 1: a scope with no token after it"))

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)")
        try "# ops\nadmin:0123456789abcdef0123\nworker:short-secret\n".write(
            to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let short = try TaskgateProcess(["serve", "--port", String(freePort()), "--api-token-file", file.path])
        defer { short.stop() }
        #expect(try await short.waitForExit() != 0)
        #expect(short.output.contains("line 3: the token is shorter than 16 characters"))
        #expect(!short.output.contains("short-secret"))
    }

    @Test func aHandlerGetsNoneOfTheWorkersSecretsButWhatIsPassed() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let worker = try TaskgateProcess(
            [
                "worker", "--key-prefix", ns.keys.prefix, "--exec", "env", "--pass-env", "TASKGATE_REGION",
                "--log-level", "debug",
            ],
            environment: [
                "TASKGATE_REDIS_URL": ns.server.url, "TASKGATE_WEBHOOK_SECRET": "whsec-value-not-for-handlers",
                "TASKGATE_SIGNING_SECRET": "signing-value-not-for-handlers", "TASKGATE_REGION": "eu-west",
                "HANDLER_SETTING": "kept",
            ])
        worker.awaitStarted()
        defer { worker.stop() }
        let id = try fixture.submit(#"{"payload":1}"#)
        let result = try await eventuallyValue("the task to succeed") { () -> String? in
            let task = try fixture.task(id)
            return task["state"] as? String == "succeeded" ? task["result"] as? String : nil
        }
        let lines = Set(result.split(separator: "\n").map(String.init))
        #expect(lines.contains("TASKGATE_TASK_ID=\(id)") && lines.contains("TASKGATE_QUEUE=default"))
        #expect(lines.contains("TASKGATE_REGION=eu-west") && lines.contains("HANDLER_SETTING=kept"))
        #expect(!result.contains("not-for-handlers"))
        #expect(!lines.contains { $0.hasPrefix("TASKGATE_REDIS_URL=") || $0.hasPrefix("TASKGATE_WEBHOOK_SECRET=") })
    }

    @Test func recordsNameAReceiversOriginOnlyAndCallbacksAreCheckedAfterResolution() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: try CallbackAllowList("127.0.0.1 localhost"))
        defer { fixture.stop(); ns.cleanUp() }
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 500, body: "db at 10.1.2.3:5432 refused us") }
        defer { receiver.stop() }
        let target = "http://user:pass-word@127.0.0.1:\(receiver.port)/private/hook?key=k-123"
        let push = try TaskgateProcess.worker(
            ns, handler: ["--http-target", target],
            extra: ["--callback-allow", "localhost", "--callback-retry-delays", "0.05", "--queue", "default"])
        defer { push.stop() }
        let id = try fixture.submit(
            #"{"payload":1,"max_retries":0,"callback_url":"http://127.0.0.1:\#(receiver.port)/cb?key=k-456"}"#)
        let named = try fixture.submit(
            #"{"payload":2,"max_retries":0,"callback_url":"http://localhost:\#(receiver.port)/cb"}"#)
        try await eventually("both callbacks to give up") {
            [id, named].allSatisfy {
                ((try? fixture.task($0))?["callback"] as? [String: Any])?["state"] as? String == "dead"
            }
        }
        let task = try fixture.task(id)
        let lastError = try #require(task["last_error"] as? String)
        #expect(lastError == "HTTP 500 from \(receiver.origin): db at 10.1.2.3:5432 refused us")
        #expect(!lastError.contains("private") && !lastError.contains("k-123") && !lastError.contains("pass-word"))
        // The callback's record: the receiver's origin and status, no path, query or answer. This worker allows
        // the name localhost only, not 127.0.0.1: the first URL names an address it does not allow, the second a
        // name it allows that resolves to loopback, which it refuses before connecting.
        let callback = try #require(task["callback"] as? [String: Any])
        #expect((callback["last_error"] as? String)?.contains("not allowed") == true)
        let resolved = try #require(try fixture.task(named)["callback"] as? [String: Any])
        #expect((resolved["last_error"] as? String)?.contains("internal-only address") == true)
        #expect(!receiver.requests.contains { $0.path.hasPrefix("/cb") })

        // Allowed by address too, it is called; what is recorded of its 500 is its origin and status.
        let allowed = try TaskgateProcess.worker(
            ns, handler: ["--exec", "cat"],
            extra: ["--callback-allow", "localhost,127.0.0.1", "--callback-retry-delays", "0.05", "--queue", "other"])
        defer { allowed.stop() }
        let third = try fixture.submit(
            #"{"queue":"other","payload":3,"callback_url":"http://localhost:\#(receiver.port)/cb?key=k-789"}"#)
        try await eventually("the third callback to give up after a try") {
            ((try? fixture.task(third))?["callback"] as? [String: Any])?["state"] as? String == "dead"
        }
        let delivered = try #require(try fixture.task(third)["callback"] as? [String: Any])
        #expect(delivered["last_status"] as? Int == 500)
        let recorded = try #require(delivered["last_error"] as? String)
        #expect(recorded.hasPrefix("HTTP 500 from http://localhost:\(receiver.port)"))
        #expect(!recorded.contains("k-789") && !recorded.contains("10.1.2.3"))
        #expect(receiver.requests.contains { $0.path.hasPrefix("/cb") })
    }

    @Test func controlCharactersReachNeitherTheTerminalNorTheLog() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        // The handler's result and error both carry escape sequences and a newline that would forge a log line.
        let script = #"printf '\033]0;pwned\007\033[2Jred'; printf 'oops\nFORGED line\033[31m' >&2; exit 1"#
        let worker = try TaskgateProcess.worker(ns, exec: script, extra: ["--log-format", "text"])
        defer { worker.stop() }
        let id = try fixture.submit(#"{"payload":1,"max_retries":0}"#)
        try await eventually("the task to be dead") { try fixture.task(id)["state"] as? String == "dead" }
        let cli = try TaskgateProcess([
            "task", id, "--redis-url", ns.server.url, "--key-prefix", ns.keys.prefix,
        ])
        #expect(try await cli.waitForExit() == 0)
        let shown = cli.output
        #expect(!shown.utf8.contains(0x1B) && !shown.utf8.contains(0x07))
        #expect(shown.contains(#"oops\nFORGED line\x1b[31m"#), "\(shown)")
        try await eventually("the failure to be logged") { worker.output.contains("task failed") }
        let log = worker.output
        #expect(!log.utf8.contains(0x1B))
        #expect(!log.split(separator: "\n").contains { $0.hasPrefix("FORGED") })
        #expect(log.contains(#"FORGED line\x1b[31m"#))
    }

    @Test func the65thConnectionFromOneAddressIsRefusedWhileAnotherIsServed() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let port = freePort()
        let gateway = try TaskgateProcess([
            "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", ns.server.url, "--key-prefix",
            ns.keys.prefix,
        ])
        defer { gateway.stop() }
        try await eventually("the gateway to listen") { (try? HTTPClient(port: port).get("/healthz"))?.status == 200 }
        let (held, refused, other) = try await offThePool { () -> ([Int32], String, Int?) in
            // 64 keep-alive connections from 127.0.0.1, each answered once, so the gateway counts them all.
            var held: [Int32] = []
            for _ in 0..<64 {
                let fd = try HTTPClient(port: port).connectSocket(from: "127.0.0.1")
                held.append(fd)
                guard try Self.healthz(fd) == 200 else { throw TestFailure("a held connection was not served") }
            }
            let extra = try HTTPClient(port: port).connectSocket(from: "127.0.0.1")
            defer { close(extra) }
            let refused = (try? Self.healthz(extra)).map { "status \($0)" } ?? "closed"
            let fromOther = try HTTPClient(port: port).connectSocket(from: "127.0.0.2")
            defer { close(fromOther) }
            return (held, refused, try? Self.healthz(fromOther))
        }
        defer { held.forEach { close($0) } }
        #expect(refused == "closed")
        #expect(other == 200)
    }

    @Test func aWorkersMetricsListenOnLoopbackByDefault() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let worker = try TaskgateProcess.worker(ns, exec: "cat", extra: ["--metrics-port", "0"])
        defer { worker.stop() }
        try await eventually("the metrics listener to be logged") { worker.output.contains("serving metrics") }
        #expect(worker.output.contains("url=http://127.0.0.1:"))
    }

    @Test func aReplayShowsASubmitOnlyTokenTheTasksIdAndQueueOnly() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(
            namespace: ns, tokens: try BearerTokens(["submit:submit-only-0123456", "submit,read:reader-0123456789"]))
        defer { fixture.stop(); ns.cleanUp() }
        func post(_ token: String, _ body: String, key: String) throws -> TestResponse {
            try fixture.client.request(
                "POST", "/tasks",
                headers: [
                    "Content-Type": "application/json", "Authorization": "Bearer \(token)", "Idempotency-Key": key,
                ],
                body: Data(body.utf8))
        }
        let first = try post("reader-0123456789", #"{"payload":{"secret":"s-1"}}"#, key: "order-1")
        #expect(first.status == 202)
        let id = try #require(first.json["id"] as? String)
        // The key's owner replays and reads it whole.
        let own = try post("reader-0123456789", #"{"payload":{"secret":"s-1"}}"#, key: "order-1")
        #expect(own.status == 200 && own.json["payload"] != nil)
        // A submit-only token that guessed the key learns the id and queue, not the task.
        let guessed = try post("submit-only-0123456", #"{"payload":{"secret":"s-1"}}"#, key: "order-1")
        #expect(guessed.status == 200 && guessed.header("idempotent-replayed") == "true")
        #expect(Set(guessed.json.keys) == ["id", "queue"] && guessed.json["id"] as? String == id)
        let reused = try post("submit-only-0123456", #"{"payload":{"other":1}}"#, key: "order-1")
        #expect(reused.status == 422 && !reused.text.contains(id))
        #expect(try post("reader-0123456789", #"{"payload":{"other":1}}"#, key: "order-1").text.contains(id))
    }

    /// Sends `GET /healthz` on a kept-alive connection and returns the status; throws when the connection closed.
    private static func healthz(_ fd: Int32) throws -> Int {
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
            throw TestFailure("send failed")
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var received: [UInt8] = []
        while !received.contains(where: { $0 == UInt8(ascii: "}") }) {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { throw TestFailure("closed") }
            received += buffer[0..<count]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let status = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw TestFailure("no status in \(text)")
        }
        return status
    }
}

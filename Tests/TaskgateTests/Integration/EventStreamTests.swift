import Foundation
import TaskgateHTTP
import TaskgateRedis
import Testing

@testable import TaskgateCore
@testable import TaskgateGateway

/// `GET /tasks/{id}/events` and `GET /queues/{queue}/events` over real sockets, the task's state changed
/// through the store (as a worker would), so that every event the stream must show is known.
@Suite(.dedicatedThreads) struct EventStreamTests {
    private func stream(_ fixture: GatewayFixture, _ path: String, lastEventID: String? = nil) throws
        -> EventStreamClient
    {
        let client = try EventStreamClient(port: fixture.gateway.port, path: path, lastEventID: lastEventID)
        try client.readHead()
        return client
    }

    /// Claims the one pending task of the default queue.
    private func claim(_ ns: TestNamespace) throws -> ClaimedTask {
        try #require(try ns.store.claimBatch(from: .default, max: 1, leaseMilliseconds: 10_000).first)
    }

    @Test func aTaskThatFailsOnceThenSucceedsShowsEveryChangeInOrderAndTheStreamCloses() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":{"n":1},"type":"report/build","max_retries":3}"#)
        let client = try stream(fixture, "/tasks/\(id)/events")
        #expect(client.status == 200)
        #expect(client.headers["content-type"] == "text/event-stream")
        let snapshot = try #require(try client.next())
        #expect(snapshot.name == "snapshot" && snapshot.id == "1")
        #expect(snapshot.json["state"] as? String == "pending" && snapshot.json["id"] as? String == id)

        // The changes happen after the snapshot was sent: each must reach the stream, in order.
        let first = try claim(ns)
        _ = try ns.store.fail(first.lease, error: "disk full", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
        _ = try ns.store.promoteDue(in: .default, limit: 10)
        let second = try claim(ns)
        try ns.store.complete(second.lease, result: "done", retentionMilliseconds: 60_000)

        let events = try await offThePool { try client.readToEnd() }
        #expect(events.map(\.name) == ["active", "retrying", "promoted", "active", "succeeded"])
        #expect(events.map(\.id) == ["2", "3", "4", "5", "6"])
        #expect(events.map { $0.json["attempt"] as? Int } == [1, 1, 1, 2, 2])
        #expect(events[1].json["error"] as? String == "disk full" && events[1].json["retries"] as? Int == 1)
        #expect(events.allSatisfy { $0.json["id"] as? String == id && $0.json["type"] as? String == "report/build" })
        #expect(client.endedCleanly)
    }

    @Test func aReconnectWithLastEventIDGetsAFreshSnapshotAndNothingTwice() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":null}"#)
        let first = try stream(fixture, "/tasks/\(id)/events")
        _ = try first.next()
        let attempt = try claim(ns)
        let active = try #require(try await offThePool { try first.next() })
        #expect(active.name == "active" && active.id == "2")
        first.disconnect()

        // Changes while the client is away, then the reconnect.
        _ = try ns.store.fail(attempt.lease, error: "x", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
        let again = try stream(fixture, "/tasks/\(id)/events", lastEventID: active.id)
        let snapshot = try #require(try again.next())
        #expect(snapshot.name == "snapshot" && snapshot.id == "3")
        #expect(snapshot.json["state"] as? String == "retrying")
        _ = try ns.store.promoteDue(in: .default, limit: 10)
        try ns.store.complete(try claim(ns).lease, result: "ok", retentionMilliseconds: 60_000)
        let rest = try await offThePool { try again.readToEnd() }
        #expect(rest.map(\.name) == ["promoted", "active", "succeeded"])
        let ids = rest.compactMap { $0.id.flatMap(Int.init) }
        #expect(ids == [4, 5, 6])
        #expect(again.endedCleanly)
    }

    @Test func aClientThatConnectsAfterTheTaskFinishedGetsTheFinalSnapshotAndTheClose() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1}"#)
        try ns.store.complete(try claim(ns).lease, result: "r", retentionMilliseconds: 60_000)
        let client = try stream(fixture, "/tasks/\(id)/events")
        let events = try await offThePool { try client.readToEnd() }
        #expect(events.map(\.name) == ["snapshot"])
        #expect(events.first?.json["state"] as? String == "succeeded" && events.first?.json["result"] as? String == "r")
        #expect(client.endedCleanly)
    }

    @Test func unknownTasksAndQueuesGetProblems() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        for path in [
            "/tasks/default.0123456789abcdef0123456789abcdef/events", "/tasks/nonsense/events",
            "/queues/no%20spaces/events",
        ] {
            let client = try EventStreamClient(port: fixture.gateway.port, path: path)
            let body = try client.readPlainBody()
            #expect(client.status == 404, "\(path)")
            #expect(client.headers["content-type"] == "application/problem+json", "\(path)")
            let problem = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            #expect(problem?["code"] as? String == "not-found", "\(path)")
        }
        #expect(fixture.gateway.events.registrationCount == 0)
    }

    @Test func theQueueStreamCarriesEveryEventOfItsQueueOnly() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        try fixture.register("mail")
        let client = try stream(fixture, "/queues/mail/events")
        #expect(client.status == 200)
        _ = try fixture.submit(#"{"payload":0,"queue":"other"}"#)
        let id = try fixture.submit(#"{"payload":1,"queue":"mail","delay_seconds":3600}"#)
        let claimedLater = try fixture.submit(#"{"payload":2,"queue":"mail"}"#)
        let task = try #require(
            try ns.store.claimBatch(from: QueueName("mail")!, max: 1, leaseMilliseconds: 10_000).first)
        try ns.store.complete(task.lease, result: "", retentionMilliseconds: 60_000)
        var seen: [StreamEvent] = []
        while seen.count < 4, let event = try await offThePool({ try client.next() }) { seen.append(event) }
        #expect(seen.map(\.name) == ["scheduled", "created", "active", "succeeded"])
        #expect(seen.map { $0.json["id"] as? String } == [id, claimedLater, claimedLater, claimedLater])
        #expect(seen.first?.json["run_at"] is Int)
        #expect(seen.map(\.id) == ["\(id)/1", "\(claimedLater)/1", "\(claimedLater)/2", "\(claimedLater)/3"])
    }

    @Test func aSlowClientIsClosedOnceItsBufferOverflows() async throws {
        // Tens of thousands of tasks until the kernel's buffers are full: on a Redis of the test's own, so the
        // flood never slows the server every other test shares, and with a small receive buffer, so it is over soon.
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, streamBufferBytes: 2_048)
        defer { fixture.stop(); server.stop() }
        try fixture.register("default")
        let client = try EventStreamClient(
            port: fixture.gateway.port, path: "/queues/default/events", receiveBufferBytes: 4_096)
        try client.readHead()
        #expect(fixture.gateway.events.registrationCount == 1)
        // The client reads nothing more; once the kernel's buffers are full, the stream's own 2 KiB fill up.
        let store = ns.store
        var sent = 0
        while fixture.gateway.events.registrationCount == 1 && sent < 400_000 {
            let requests = (0..<500).map { _ in
                store.enqueueRequest(
                    TaskSubmission(payload: .null), idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
            }
            let call = store.enqueueCall(requests)
            _ = try ns.pool.withConnection { connection throws(RedisError) in
                try TaskScripts.enqueue.run(on: connection, keys: call.keys, arguments: call.arguments)
            }
            sent += 500
        }
        #expect(fixture.gateway.events.registrationCount == 0, "the slow stream was closed after \(sent) events")
        // The client finds its stream cut short: no final chunk.
        _ = try await offThePool { while try client.next() != nil {} }
        #expect(client.closed && !client.endedCleanly)
        // A new stream is served as usual.
        let fresh = try stream(fixture, "/queues/default/events")
        #expect(fresh.status == 200)
    }

    @Test func streamsAndLongPollsEndCleanlyWhenTheGatewayStops() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":null}"#)
        let taskStream = try stream(fixture, "/tasks/\(id)/events")
        let queueStream = try stream(fixture, "/queues/default/events")
        let port = fixture.gateway.port
        let poll = Task { try await offThePool { try HTTPClient(port: port).get("/tasks/\(id)?wait=60") } }
        _ = try await watch("the long-poll to wait") { fixture.gateway.events.registrationCount == 3 ? true : nil }
        // libmicrohttpd aborts the process if it stops with a connection suspended: this returning is the test.
        fixture.stop()
        let answer = try await poll.value
        #expect(answer.status == 200 && answer.json["state"] as? String == "pending")
        let taskEvents = try await offThePool { try taskStream.readToEnd() }
        #expect(taskEvents.map(\.name) == ["snapshot"])
        #expect(taskStream.endedCleanly)
        _ = try await offThePool { try queueStream.readToEnd() }
        #expect(queueStream.endedCleanly)
    }

    @Test func streamsNeedTheReadScope() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(
            namespace: ns, tokens: BearerTokens(["submit:s-token-000000001", "read:r-token-000000001"]))
        defer { fixture.stop(); ns.cleanUp() }
        try fixture.register("default")
        for (token, status) in [(nil, 401), ("s-token-000000001", 403), ("r-token-000000001", 200)] as [(String?, Int)]
        {
            let client = try EventStreamClient(
                port: fixture.gateway.port, path: "/queues/default/events",
                headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
            try client.readHead()
            #expect(client.status == status, "token \(token ?? "none")")
        }
    }

    @Test func streamsAndLongPollsBeyondTheMemoryBudgetAreRefusedWith503() async throws {
        let ns = TestNamespace()
        // Near the smallest budget (1 MiB): room for a few hundred streams at their fixed cost, and 3 KiB more.
        let http = HTTPServerConfiguration(
            host: "127.0.0.1", port: 0, threads: 2, maxInflightBodyBytes: (1 << 20) + 3 * 1024)
        let fixture = try GatewayFixture(namespace: ns, http: http)
        defer { fixture.stop(); ns.cleanUp() }
        // Submitted first: a full budget refuses bodies too.
        let id = try fixture.submit(#"{"payload":1}"#)
        let budget = fixture.gateway.server.budget
        let port = fixture.gateway.port
        let (open, refused) = try await offThePool { () -> ([EventStreamClient], EventStreamClient?) in
            var open: [EventStreamClient] = []
            for _ in 0...(budget.limit / HTTPStream.fixedCost) {
                let stream = try EventStreamClient(port: port, path: "/queues/default/events")
                try stream.readHead()
                guard stream.status == 200 else { return (open, stream) }
                open.append(stream)
            }
            return (open, nil)
        }
        defer { open.forEach { $0.disconnect() } }
        let refusal = try #require(
            refused,
            "\(open.count) streams opened and none was refused; \(budget.inUse) of \(budget.limit) bytes in use")
        #expect(open.count >= (budget.limit - 64 * 1024) / HTTPStream.fixedCost)
        let body = try await offThePool { try refusal.readPlainBody() }
        #expect(refusal.status == 503)
        #expect(refusal.headers["content-type"] == "application/problem+json")
        #expect(refusal.headers["retry-after"] != nil)
        let problem = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        #expect(problem?["code"] as? String == "overloaded")

        // Long-polls take what is left, a known share each, then are refused the same way.
        let fitting = (budget.limit - budget.inUse) / LongPollWaiter.budgetCost
        let before = budget.inUse
        let waiting = try (0..<fitting).map { _ in
            let fd = try fixture.client.connectSocket()
            let request = Array(
                "GET /tasks/\(id)?wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
            _ = send(fd, request, request.count, Int32(MSG_NOSIGNAL))
            return fd
        }
        defer { waiting.forEach { close($0) } }
        #expect(fitting > 0)
        try await eventually("\(fitting) long-polls to wait") {
            budget.inUse >= before + fitting * LongPollWaiter.budgetCost
        }
        let poll = try await offThePool { try fixture.client.get("/tasks/\(id)?wait=30") }
        #expect(poll.status == 503 && poll.header("retry-after") != nil)
        #expect(poll.json["code"] as? String == "overloaded")

        // What was admitted is served: the task's end answers the long-polls and reaches the streams.
        try ns.store.complete(try claim(ns).lease, result: "", retentionMilliseconds: 60_000)
        let answered = try await offThePool { try waiting.map { try fixture.client.readResponse($0).status } }
        #expect(answered.allSatisfy { $0 == 200 })
        let seen = try await offThePool { try open[0].next()?.json["id"] as? String }
        #expect(seen == id)
    }

    @Test func withRedisDownAStreamIsRefusedWith503() async throws {
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, commandTimeoutMilliseconds: 1_000)
        defer { fixture.stop(); server.stop() }
        server.stop()
        let client = try EventStreamClient(port: fixture.gateway.port, path: "/queues/default/events")
        let body = try await offThePool { try client.readPlainBody() }
        #expect(client.status == 503)
        #expect(client.headers["retry-after"] != nil)
        let problem = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        #expect(problem?["code"] as? String == "redis-unavailable")
        #expect(fixture.gateway.events.registrationCount == 0)
        // A long-poll cannot subscribe either: refused the same way, not left waiting.
        let port = fixture.gateway.port
        let poll = try await offThePool {
            try HTTPClient(port: port).get("/tasks/default.0123456789abcdef0123456789abcdef?wait=30")
        }
        #expect(poll.status == 503 && poll.header("retry-after") != nil)
        #expect(poll.json["code"] as? String == "redis-unavailable")
        #expect(fixture.gateway.events.registrationCount == 0)
    }
}

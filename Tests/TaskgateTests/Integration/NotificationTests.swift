import Foundation
import TaskgateCore
import TaskgateHTTP
import TaskgateRedis
import Testing

/// The long-poll, the raw pub/sub format, and many streams on one gateway.
@Suite(.dedicatedThreads) struct NotificationTests {
    @Test func aLongPollAnswersWithTheFinalStateOnceTheTaskFinishes() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":"x"}"#)
        let port = fixture.gateway.port
        let poll = Task { try await offThePool { try HTTPClient(port: port).get("/tasks/\(id)?wait=60") } }
        _ = try await watch("the long-poll to wait") { fixture.gateway.events.registrationCount == 1 ? true : nil }
        let claimed = try #require(try ns.store.claimBatch(from: .default, max: 1, leaseMilliseconds: 10_000).first)
        try ns.store.complete(claimed.lease, result: "finished", retentionMilliseconds: 60_000)
        let answer = try await poll.value
        #expect(answer.status == 200)
        #expect(answer.json["state"] as? String == "succeeded" && answer.json["result"] as? String == "finished")
        #expect(fixture.gateway.events.registrationCount == 0)
    }

    @Test func aLongPollOnAFinishedTaskAnswersAtOnceAndOneThatEndsGivesTheCurrentState() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let done = try fixture.submit(#"{"payload":1}"#)
        let claimed = try #require(try ns.store.claimBatch(from: .default, max: 1, leaseMilliseconds: 10_000).first)
        try ns.store.complete(claimed.lease, result: "", retentionMilliseconds: 60_000)
        let finished = try await offThePool { try fixture.client.get("/tasks/\(done)?wait=60") }
        #expect(finished.status == 200 && finished.json["state"] as? String == "succeeded")

        let waiting = try fixture.submit(#"{"payload":2,"delay_seconds":3600}"#)
        let ended = try await offThePool { try fixture.client.get("/tasks/\(waiting)?wait=1") }
        #expect(ended.status == 200 && ended.json["state"] as? String == "scheduled")
        #expect(fixture.gateway.events.registrationCount == 0)
    }

    @Test func aBadWaitIsRefusedAndAnUnknownTaskIsNotFound() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1}"#)
        for wait in ["0", "61", "abc", "1.5"] {
            let answer = try fixture.client.get("/tasks/\(id)?wait=\(wait)")
            #expect(answer.status == 400, "wait=\(wait)")
            #expect(answer.header("content-type") == "application/problem+json")
            #expect(answer.json["code"] as? String == "invalid-parameter" && answer.json["field"] as? String == "wait")
        }
        let unknown = try fixture.client.get("/tasks/default.0123456789abcdef0123456789abcdef?wait=5")
        #expect(unknown.status == 404 && unknown.json["code"] as? String == "not-found")
    }

    @Test func aRawSubscriberSeesTheDocumentedFormat() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let mode = EventChannelMode.current
        let channel = ns.keys.events(QueueName("reports")!)
        #expect(channel == ns.keys.prefix + ":{reports}:events")
        let subscriber = try RawSubscriber(server: ns.server, channel: channel)
        #expect(subscriber.confirmation.array?.first?.string == mode.subscribedKind)

        let before = try ns.redisClock()
        let record = try ns.store.enqueue(
            TaskSubmission(payload: .null, type: "pdf/render", queue: QueueName("reports")!))
        let message = try #require(try subscriber.next().array)
        #expect(message.count == 3 && message[0].string == mode.messageKind && message[1].string == channel)
        let text = try #require(message[2].string)
        #expect(!text.contains("\n"), "one event in this message")
        let event = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(event["id"] as? String == record.id.rawValue)
        #expect(event["queue"] as? String == "reports")
        #expect(event["type"] as? String == "pdf/render")
        #expect(event["event"] as? String == "created" && event["state"] as? String == "pending")
        #expect(event["attempt"] as? Int == 0 && event["retries"] as? Int == 0 && event["seq"] as? Int == 1)
        let at = try #require(event["at"] as? Int)
        let after = try ns.redisClock()
        #expect(at >= before && at <= after)
        #expect(Set(event.keys) == ["id", "queue", "type", "event", "state", "attempt", "retries", "seq", "at"])
    }

    @Test func oneThousandStreamsEachGetTheirTasksFinalEvent() async throws {
        // Not raised here: Foundation's Process, spawning children for tests running beside this one, reads the
        // limit while it spawns, and a change in between crashed it. scripts/test raises it before swift test.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try #require(
            limit.rlim_cur >= 2_200, "the test needs 2,200 file descriptors: ulimit -n 4096 (scripts/test does)")

        let ns = TestNamespace()
        let fixture = try GatewayFixture(
            namespace: ns,
            http: HTTPServerConfiguration(host: "127.0.0.1", port: 0, threads: 2, connectionLimit: 1_100))
        defer { fixture.stop(); ns.cleanUp() }
        let count = 1_000
        let store = ns.store
        let ids = try (0..<count).map { n in try store.enqueue(TaskSubmission(payload: .integer(n))).id.rawValue }
        let port = fixture.gateway.port
        let clients = try await offThePool {
            try ids.map { id -> EventStreamClient in
                let client = try EventStreamClient(port: port, path: "/tasks/\(id)/events")
                try client.readHead()
                return client
            }
        }
        #expect(clients.allSatisfy { $0.status == 200 })
        #expect(fixture.gateway.events.registrationCount == count)

        // Every task runs to its end after all the streams are open.
        var done = 0
        while done < count {
            let batch = try store.claimBatch(from: .default, max: 100, leaseMilliseconds: 60_000)
            for task in batch { try store.complete(task.lease, result: "ok", retentionMilliseconds: 60_000) }
            done += batch.count
            if batch.isEmpty { break }
        }
        #expect(done == count)
        let finals = try await offThePool {
            try zip(ids, clients).map { id, client -> Bool in
                let events = try client.readToEnd()
                return events.map(\.name) == ["snapshot", "active", "succeeded"]
                    && events.allSatisfy { $0.json["id"] as? String == id } && client.endedCleanly
            }
        }
        #expect(finals.filter { $0 }.count == count)
        _ = try await watch("every stream to be unregistered") {
            fixture.gateway.events.registrationCount == 0 ? true : nil
        }
    }
}

import Foundation
import TaskgateCore
import TaskgateRedis
import Testing

/// `GET /queues/{queue}/tasks`: one state, newest first, paged by a cursor, filtered, with bounded work.
@Suite(.dedicatedThreads) struct TaskListingTests {
    private static let queue = QueueName("ops")!

    /// Pages through `path` (which has its own query) until the last page; returns every task listed.
    private func pageThrough(_ fixture: GatewayFixture, _ path: String) throws -> [[String: Any]] {
        var listed: [[String: Any]] = []
        var cursor: String?
        repeat {
            let url = path + (cursor.map { "&cursor=" + $0 } ?? "")
            let page = try fixture.client.get(url)
            guard page.status == 200, let tasks = page.json["tasks"] as? [[String: Any]] else {
                throw TestFailure("GET \(url) answered \(page.status): \(page.text)")
            }
            #expect((page.json["examined"] as? Int ?? Int.max) <= TaskListing.maxLimit)
            listed += tasks
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        return listed
    }

    @Test func theCursorPagesThroughTenThousandDeadTasksExactlyOnceEachNewestFirst() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        // 10,000 dead records as the scripts leave them, ten dying in each millisecond (ties in the score).
        let connection = try ns.server.connect()
        var expected: [String] = []
        var mail: Set<String> = []
        for chunk in stride(from: 0, to: 10_000, by: 1_000) {
            var commands: [RedisCommand] = []
            for index in chunk..<(chunk + 1_000) {
                let id = TaskID.generate(queue: Self.queue)
                let isMail = index % 7 == 0
                let error = isMail ? "SMTP timeout after 30 s (try \(index))" : "HTTP 500 from upstream"
                commands.append(
                    RedisCommand(
                        "HSET", ns.keys.task(id), "id", id.rawValue, "type", isMail ? "mail" : "report", "state",
                        "dead", "payload", "1", "max_retries", 0, "created_at", 1_000, "seq", 3, "attempts", 1,
                        "last_error", error))
                commands.append(RedisCommand("ZADD", ns.keys.dead(Self.queue), 2_000_000 + index / 10, id.rawValue))
                expected.append(id.rawValue)
                if isMail { mail.insert(id.rawValue) }
            }
            _ = try connection.pipeline(commands)
        }
        let listed = try pageThrough(fixture, "/queues/ops/tasks?state=dead&limit=333")
        let ids = listed.compactMap { $0["id"] as? String }
        #expect(ids.count == 10_000)
        #expect(Set(ids) == Set(expected))
        // Newest first: the time of death never rises along the pages.
        let died = listed.compactMap { $0["indexed_at"] as? String }
        #expect(died.count == 10_000)
        #expect(zip(died, died.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(listed.allSatisfy { $0["payload"] == nil && $0["state"] as? String == "dead" })

        // Filtered on type and on text in last_error (any case): only the mail failures, each once.
        let filtered = try pageThrough(fixture, "/queues/ops/tasks?state=dead&type=mail&error=smtp%20TIMEOUT&limit=50")
        let filteredIDs = filtered.compactMap { $0["id"] as? String }
        #expect(filteredIDs.count == mail.count)
        #expect(Set(filteredIDs) == mail)
        let none = try pageThrough(fixture, "/queues/ops/tasks?state=dead&type=report&error=smtp")
        #expect(none.isEmpty)
    }

    @Test func pendingPagesGoOnFromTheirTaskWhileOlderTasksAreClaimed() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let ids = try (0..<25).map { _ in try fixture.submit(#"{"queue":"ops","payload":1}"#) }
        let first = try fixture.client.get("/queues/ops/tasks?state=pending&limit=10")
        #expect(first.status == 200)
        let firstIDs = (first.json["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(firstIDs == Array(ids.reversed().prefix(10)))
        // Three workers' claims take the three oldest before the next page is asked for.
        for _ in 0..<3 { _ = try #require(try ns.store.claim(from: Self.queue)) }
        var cursor = try #require(first.json["next_cursor"] as? String)
        var rest: [String] = []
        while true {
            let page = try fixture.client.get("/queues/ops/tasks?state=pending&limit=10&cursor=\(cursor)")
            #expect(page.status == 200)
            rest += (page.json["tasks"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            guard let next = page.json["next_cursor"] as? String else { break }
            cursor = next
        }
        #expect(rest == Array(ids.reversed().dropFirst(10).prefix(12)))
    }

    @Test func badListingRequestsGetProblems() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        for (query, field) in [
            ("", "state"), ("?state=succeeded", "state"), ("?state=dead&limit=0", "limit"),
            ("?state=dead&limit=1001", "limit"), ("?state=dead&cursor=nonsense", "cursor"),
            ("?state=dead&type=" + String(repeating: "t", count: 257), "type"),
            ("?state=pending&cursor=1e300~ops.0123456789abcdef0123456789abcdef", "cursor"),
        ] {
            let response = try fixture.client.get("/queues/ops/tasks" + query)
            #expect(response.status == 400, "\(query)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.json["field"] as? String == field, "\(query)")
        }
        #expect(try fixture.client.get("/queues/a*b/tasks?state=dead").status == 404)
        // A pending cursor at no place a page gives (0, negative) lists nothing rather than the whole list.
        _ = try fixture.submit(#"{"queue":"ops","payload":1}"#)
        for place in ["0", "-5", "2.5"] {
            let odd = try fixture.client.get(
                "/queues/ops/tasks?state=pending&cursor=\(place)~ops.0123456789abcdef0123456789abcdef")
            #expect(odd.status == 200)
            #expect((odd.json["tasks"] as? [Any])?.isEmpty == true, "cursor place \(place)")
        }
        let empty = try fixture.client.get("/queues/ops/tasks?state=retrying")
        #expect(empty.status == 200)
        #expect((empty.json["tasks"] as? [Any])?.isEmpty == true)
        #expect(empty.json["next_cursor"] is NSNull)
    }
}

import Foundation
import TaskgateCore
import TaskgateHTTP
import Testing

@testable import TaskgateGateway

/// The dashboard's files, `GET /whoami`, `GET /events` for several queues, and `GET /queues?per_minute=true`:
/// what the page stands on, over real sockets. The page itself is tested in a real browser by
/// `scripts/dashboard-check`.
@Suite(.dedicatedThreads) struct DashboardTests {
    private static let tokens = try! BearerTokens([
        "admin:admin-token-000001", "read:read-token-0000001", "submit:submit-token-00001",
    ])!
    private static let files = [
        "/": "text/html", "/dashboard": "text/html", "/dashboard/app.js": "text/javascript",
        "/dashboard/app.css": "text/css", "/dashboard/icon.svg": "image/svg+xml",
    ]

    @Test func thePageAndItsFilesAreServedWithoutATokenUnderAStrictPolicy() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, tokens: Self.tokens)
        defer { fixture.stop(); ns.cleanUp() }
        for (path, type) in Self.files {
            let response = try fixture.client.get(path)
            #expect(response.status == 200, "\(path)")
            #expect(response.header("Content-Type")?.hasPrefix(type) == true, "\(path)")
            let policy = try #require(response.header("Content-Security-Policy"), "\(path)")
            for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"] {
                #expect(policy.contains(directive), "\(path): \(policy)")
            }
            #expect(!policy.contains("unsafe"), "\(path): \(policy)")
            #expect(response.header("X-Content-Type-Options") == "nosniff")
            #expect(response.header("ETag") != nil && !response.body.isEmpty)
        }
        // HEAD gets the head alone; any other method is refused with what is allowed, token or not.
        let head = try fixture.client.request("HEAD", "/dashboard/app.js")
        #expect(head.status == 200 && head.body.isEmpty)
        let post = try fixture.client.request("POST", "/dashboard", headers: ["Content-Type": "application/json"])
        #expect(post.status == 405 && post.header("Allow")?.contains("GET") == true)
        #expect(post.header("Content-Type") == "application/problem+json")
        // The files hold no data: the API behind them still needs a token.
        #expect(try fixture.client.get("/queues").status == 401)
    }

    @Test func thePageLoadsNothingTheStrictPolicyWouldBlock() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let page = try fixture.client.get("/").text
        #expect(page.contains(#"<script type="module" src="/dashboard/app.js">"#))
        #expect(page.contains(#"<link rel="stylesheet" href="/dashboard/app.css">"#))
        // Inline code and styles would be refused by the policy, and another host is never named.
        #expect(!page.contains("<script>") && !page.contains(" style=") && !page.contains(" onclick="))
        for attribute in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            #expect(!page.contains(attribute), "\(attribute)")
        }
        let style = try fixture.client.get("/dashboard/app.css").text
        #expect(!style.contains("url(") && !style.contains("@import"))
        // Every module app.js imports, and theirs, is served (a missing one would stop the page).
        var modules: Set<String> = ["app.js"]
        var unread = ["app.js"]
        var script = ""
        while let name = unread.popLast() {
            let response = try fixture.client.get("/dashboard/" + name)
            #expect(response.status == 200, "\(name)")
            #expect(response.header("Content-Type") == "text/javascript; charset=utf-8", "\(name)")
            script += response.text
            for line in response.text.split(separator: "\n") where line.hasPrefix("import ") {
                let imported = try #require(line.split(separator: "'").dropFirst().first, "\(line)")
                #expect(imported.hasPrefix("./"), "\(name): \(line)")
                let file = String(imported.dropFirst(2))
                if modules.insert(file).inserted { unread.append(file) }
            }
        }
        #expect(modules.count == Dashboard.modules.count, "\(modules.sorted())")
        // The token goes in a header: the page never builds a URL with it, and never uses EventSource (which
        // cannot send one).
        #expect(script.contains("Authorization") && !script.contains("new EventSource"))
        #expect(!script.contains("token=") && !script.contains("eval("))
    }

    @Test func aCurrentCopyIsAnswered304() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let first = try fixture.client.get("/dashboard/app.js")
        let etag = try #require(first.header("ETag"))
        let again = try fixture.client.request("GET", "/dashboard/app.js", headers: ["If-None-Match": etag])
        #expect(again.status == 304 && again.body.isEmpty && again.header("ETag") == etag)
        let listed = try fixture.client.request(
            "GET", "/dashboard/app.js", headers: ["If-None-Match": "\"other\", " + etag])
        #expect(listed.status == 304)
        let stale = try fixture.client.request("GET", "/dashboard/app.js", headers: ["If-None-Match": "\"other\""])
        #expect(stale.status == 200 && stale.body == first.body)
        // Each file has its own tag.
        #expect(try fixture.client.get("/dashboard/app.css").header("ETag") != etag)
    }

    @Test func whoamiTellsWhetherATokenIsNeededAndWhatItMayDo() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, tokens: Self.tokens)
        defer { fixture.stop(); ns.cleanUp() }
        func whoami(_ token: String?) throws -> [String: Any] {
            let response = try fixture.client.request(
                "GET", "/whoami", headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
            #expect(response.status == 200 && response.header("Content-Type") == "application/json")
            return response.json
        }
        for (token, scopes) in [
            ("admin-token-000001", ["submit", "read", "worker", "admin"]), ("read-token-0000001", ["read"]),
            ("submit-token-00001", ["submit"]),
        ] {
            let answer = try whoami(token)
            #expect(answer["tokens_required"] as? Bool == true && answer["authenticated"] as? Bool == true)
            #expect(answer["scopes"] as? [String] == scopes, "\(token)")
        }
        for token in [nil, "wrong", "admin-toke"] {
            let answer = try whoami(token)
            #expect(answer["authenticated"] as? Bool == false && (answer["scopes"] as? [String])?.isEmpty == true)
        }

        let open = try GatewayFixture(namespace: ns)
        defer { open.stop() }
        let answer = try open.client.get("/whoami").json
        #expect(answer["tokens_required"] as? Bool == false && answer["authenticated"] as? Bool == true)
        #expect(answer["scopes"] as? [String] == ["submit", "read", "worker", "admin"])
    }

    @Test func oneStreamCarriesTheEventsOfEveryQueueItNamesAndNoOther() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        try fixture.register("mail", "reports")
        let client = try EventStreamClient(
            port: fixture.gateway.port, path: "/events?queue=mail&queue=reports&queue=mail")
        try client.readHead()
        #expect(client.status == 200 && client.headers["content-type"] == "text/event-stream")
        // A queue named twice is followed once.
        #expect(fixture.gateway.events.registrationCount == 2)
        _ = try fixture.submit(#"{"payload":0,"queue":"other"}"#)
        let mail = try fixture.submit(#"{"payload":1,"queue":"mail"}"#)
        let report = try fixture.submit(#"{"payload":2,"queue":"reports","delay_seconds":60}"#)
        #expect(try fixture.client.request("POST", "/queues/reports/pause").status == 200)
        _ = try fixture.submit(#"{"payload":3,"queue":"other"}"#)
        #expect(try fixture.client.request("POST", "/queues/other/pause").status == 200)
        let claimed = try #require(
            try ns.store.claimBatch(from: QueueName("mail")!, max: 1, leaseMilliseconds: 10_000).first)
        try ns.store.complete(claimed.lease, result: "", retentionMilliseconds: 60_000)

        var seen: [StreamEvent] = []
        while seen.count < 5, let event = try await offThePool({ try client.next() }) { seen.append(event) }
        #expect(seen.map(\.name) == ["created", "scheduled", "paused", "active", "succeeded"])
        #expect(seen.map { $0.json["queue"] as? String } == ["mail", "reports", "reports", "mail", "mail"])
        #expect(seen.map(\.id) == ["\(mail)/1", "\(report)/1", nil, "\(mail)/2", "\(mail)/3"])
        // A client that left is noticed when a write to it fails: events for it make writes happen (the first
        // one after the close may still be taken by the kernel).
        client.disconnect()
        try await eventually("the stream's subscriptions are given back") {
            _ = try fixture.submit(#"{"payload":4,"queue":"mail"}"#)
            return fixture.gateway.events.registrationCount == 0
        }
    }

    @Test func aStreamOfNoQueueABadNameOrTooManyIsRefused() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, tokens: Self.tokens)
        defer { fixture.stop(); ns.cleanUp() }
        try fixture.register("mail")
        let read = ["Authorization": "Bearer read-token-0000001"]
        for path in ["/events", "/events?queues=mail", "/events?queue=no%20spaces", "/events?queue=mail&queue="] {
            for method in ["GET", "HEAD"] {
                let response = try fixture.client.request(method, path, headers: read)
                #expect(response.status == 400, "\(method) \(path)")
                #expect(response.header("Content-Type") == "application/problem+json", "\(method) \(path)")
                if method == "GET" { #expect(response.json["code"] as? String == "invalid-parameter", "\(path)") }
            }
        }
        #expect(try fixture.client.request("HEAD", "/events?queue=mail", headers: read).status == 200)
        #expect(try fixture.client.get("/events?queue=mail").status == 401)
        #expect(fixture.gateway.events.registrationCount == 0)

        var many = HTTPRequest(method: "GET", path: "/events")
        many.query = (0...NotificationsAPI.maxStreamQueues).map { ("queue", "q\($0)") }
        guard case .failure(let problem) = NotificationsAPI.streamQueues(many) else {
            Issue.record("\(many.query.count) queues were accepted")
            return
        }
        #expect(problem.status == 400)
        many.query.removeLast()
        #expect((try? NotificationsAPI.streamQueues(many).get())?.count == NotificationsAPI.maxStreamQueues)
    }

    @Test func withRedisDownTheSeveralQueueStreamIsRefusedWith503AndHoldsNothing() async throws {
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, commandTimeoutMilliseconds: 1_000)
        defer { fixture.stop(); server.stop() }
        server.stop()
        let client = try EventStreamClient(port: fixture.gateway.port, path: "/events?queue=mail&queue=reports")
        let body = try await offThePool { try client.readPlainBody() }
        #expect(client.status == 503 && client.headers["retry-after"] != nil)
        #expect(client.headers["content-type"] == "application/problem+json")
        let problem = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        #expect(problem?["code"] as? String == "redis-unavailable")
        // No queue's subscription is left behind, the first's included.
        #expect(fixture.gateway.events.registrationCount == 0)
        let head = try await offThePool { [port = fixture.gateway.port] in
            try HTTPClient(port: port).request("HEAD", "/events?queue=mail")
        }
        #expect(head.status == 503)
        // The page's files need no Redis, and /whoami neither.
        #expect(try fixture.client.get("/dashboard").status == 200)
        #expect(try fixture.client.get("/whoami").status == 200)
    }

    @Test func theQueueListCarriesEachQueuesHourOnlyWhenAsked() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        _ = try fixture.submit(#"{"payload":1,"queue":"mail"}"#)
        let claimed = try #require(
            try ns.store.claimBatch(from: QueueName("mail")!, max: 1, leaseMilliseconds: 10_000).first)
        try ns.store.complete(claimed.lease, result: "", retentionMilliseconds: 60_000)

        let plain = try fixture.client.get("/queues").json["queues"] as? [[String: Any]]
        #expect(plain?.first?["per_minute"] == nil)
        let charted = try #require(try fixture.client.get("/queues?per_minute=true").json["queues"] as? [[String: Any]])
        let minutes = try #require(
            charted.first { $0["queue"] as? String == "mail" }?["per_minute"] as? [[String: Any]])
        #expect(minutes.count == 60)
        #expect(minutes.reduce(0) { $0 + ($1["succeeded"] as? Int ?? 0) } == 1)
        // The same counts GET /queues/{queue} charts.
        let single = try #require(try fixture.client.get("/queues/mail").json["per_minute"] as? [[String: Any]])
        #expect(single.count == 60 && single.reduce(0) { $0 + ($1["succeeded"] as? Int ?? 0) } == 1)
        let bad = try fixture.client.get("/queues?per_minute=yes")
        #expect(bad.status == 400 && bad.json["field"] as? String == "per_minute")
    }
}

import Foundation
import TaskgateCore
import TaskgateGateway
import Testing

/// `HEAD` on every `GET` route, as load balancers and uptime checks probe: the head a `GET` gets, no body, and
/// for streams and long-polls no stream opened and no wait.
@Suite(.dedicatedThreads) struct HeadRequestTests {
    @Test func headGetsTheHeadOfGetWithoutItsBody() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":{"to":"a@example.com"}}"#)
        for path in ["/healthz", "/tasks/\(id)", "/tasks/\(id)/retries"] {
            let get = try fixture.client.get(path)
            let head = try fixture.client.request("HEAD", path)
            #expect(head.status == get.status, "HEAD \(path)")
            #expect(head.body.isEmpty, "HEAD \(path) sent a body")
            #expect(head.header("content-type") == get.header("content-type"), "HEAD \(path)")
            #expect(head.header("content-length") == String(get.body.count), "HEAD \(path)")
        }
        let unknown = try fixture.client.request("HEAD", "/tasks/default.0123456789abcdef0123456789abcdef")
        #expect(unknown.status == 404 && unknown.body.isEmpty)
        #expect(unknown.header("content-type") == "application/problem+json")
        // HEAD is not a way around a method a path lacks.
        let post = try fixture.client.request("HEAD", "/tasks")
        #expect(post.status == 405 && post.header("allow") == "POST")
        let allow = try fixture.client.request("PUT", "/tasks/\(id)")
        #expect(allow.status == 405 && allow.header("allow") == "GET, DELETE, HEAD")
    }

    @Test func headOnStreamsAndLongPollsAnswersAtOnce() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1}"#)
        let port = fixture.gateway.port
        // Each would stream or wait 60 s as a GET; as a HEAD the connection closes with the head.
        let answers = try await offThePool {
            try ["/tasks/\(id)/events", "/queues/default/events", "/tasks/\(id)?wait=60"].map {
                try HTTPClient(port: port).request("HEAD", $0)
            }
        }
        #expect(answers.map(\.status) == [200, 200, 200])
        #expect(answers.allSatisfy { $0.body.isEmpty })
        #expect(answers[0].header("content-type") == "text/event-stream")
        #expect(answers[1].header("content-type") == "text/event-stream")
        #expect(fixture.gateway.events.registrationCount == 0, "a HEAD left a subscription behind")
        let unknown = try fixture.client.request("HEAD", "/tasks/default.0123456789abcdef0123456789abcdef/events")
        #expect(unknown.status == 404)
        let badQueue = try fixture.client.request("HEAD", "/queues/no%20such/events")
        #expect(badQueue.status == 404)
        // A wait it will not do is still checked as GET checks it.
        let badWait = try fixture.client.request("HEAD", "/tasks/\(id)?wait=61")
        #expect(badWait.status == 400 && badWait.body.isEmpty)
    }

    @Test func withRedisDownHeadIs503AsGetWouldBe() async throws {
        let server = RedisServer()
        try server.start()
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns, commandTimeoutMilliseconds: 1_000)
        defer { fixture.stop(); server.stop() }
        let id = try fixture.submit(#"{"payload":1}"#)
        server.stop()
        let port = fixture.gateway.port
        let (task, stream, queue) = try await offThePool {
            let client = HTTPClient(port: port)
            return (
                try client.request("HEAD", "/tasks/\(id)"), try client.request("HEAD", "/tasks/\(id)/events"),
                try client.request("HEAD", "/queues/default/events")
            )
        }
        #expect(task.status == 503 && task.header("retry-after") != nil && task.body.isEmpty)
        #expect(stream.status == 503 && stream.header("retry-after") != nil && stream.body.isEmpty)
        #expect(queue.status == 503 && queue.header("retry-after") != nil && queue.body.isEmpty)
    }

    @Test func headNeedsTheSameTokenAsGet() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(
            namespace: ns, tokens: BearerTokens(["read:reader-token-0001", "submit:submitter-token-1"]))
        defer { fixture.stop(); ns.cleanUp() }
        let path = "/tasks/default.0123456789abcdef0123456789abcdef"
        #expect(try fixture.client.request("HEAD", path).status == 401)
        #expect(
            try fixture.client.request("HEAD", path, headers: ["Authorization": "Bearer submitter-token-1"]).status
                == 403)
        #expect(
            try fixture.client.request("HEAD", path, headers: ["Authorization": "Bearer reader-token-0001"]).status
                == 404)
        #expect(try fixture.client.request("HEAD", "/healthz").status == 200)
    }
}

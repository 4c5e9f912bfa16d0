import Foundation
import TaskgateGateway
import Testing

/// Bearer tokens: when configured, every endpoint but the probes needs one.
@Suite(.dedicatedThreads) struct AccessControlTests {
    private static let tokens = try! BearerTokens(["s3cret-token-one", "another-token-xyz"])!

    @Test func requestsWithoutAValidTokenGetA401ProblemAndStoreNothing() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, tokens: Self.tokens)
        defer { fixture.stop(); ns.cleanUp() }
        let cases: [(String, String, [String: String])] = [
            ("POST", "/tasks", [:]),
            ("POST", "/tasks", ["Authorization": "Bearer wrong"]),
            ("POST", "/tasks", ["Authorization": "Bearer s3cret-token-on"]),
            ("POST", "/tasks", ["Authorization": "Bearer s3cret-token-one-and-more"]),
            ("POST", "/tasks", ["Authorization": "Basic czNjcmV0LXRva2VuLW9uZQ=="]),
            ("POST", "/tasks", ["Authorization": "s3cret-token-one"]),
            ("GET", "/tasks/default.0123456789abcdef0123456789abcdef", [:]),
            ("GET", "/tasks/default.0123456789abcdef0123456789abcdef/retries", [:]),
            ("GET", "/no-such-path", [:]),
        ]
        for (method, path, headers) in cases {
            let response = try fixture.client.request(
                method, path, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                body: method == "POST" ? Data(#"{"payload":1}"#.utf8) : nil)
            #expect(response.status == 401, "\(method) \(path) \(headers)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.json["code"] as? String == "unauthorized")
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer realm=\"taskgate\"") == true)
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
    }

    @Test func aValidTokenIsAcceptedAndTheProbesStayOpen() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, tokens: Self.tokens)
        defer { fixture.stop(); ns.cleanUp() }
        for token in ["s3cret-token-one", "another-token-xyz"] {
            let created = try fixture.client.request(
                "POST", "/tasks", headers: ["Content-Type": "application/json", "Authorization": "bearer  \(token)"],
                body: Data(#"{"payload":1}"#.utf8))
            #expect(created.status == 202)
            let id = try #require(created.json["id"] as? String)
            let read = try fixture.client.request("GET", "/tasks/\(id)", headers: ["Authorization": "Bearer \(token)"])
            #expect(read.status == 200)
        }
        #expect(try fixture.client.get("/healthz").status == 200)
        #expect(try fixture.client.get("/readyz").status == 200)
    }

    @Test func anUnauthenticatedBodyIsNotRead() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, maxBodyBytes: 16, tokens: Self.tokens)
        defer { fixture.stop(); ns.cleanUp() }
        // Over the body limit and unauthenticated: refused for the token, before any body is looked at.
        let response = try fixture.client.post("/tasks", json: String(repeating: " ", count: 64) + "{}")
        #expect(response.status == 401)
    }

    @Test func tokensParseFromTheListAndTheFile() throws {
        let list = try #require(try BearerTokens(commaSeparated: " first-token-0001 ,second-token-002,, "))
        #expect(list.count == 2)
        #expect(list.accepts(authorization: "Bearer second-token-002"))
        #expect(!list.accepts(authorization: "Bearer second-token-00"))
        #expect(!list.accepts(authorization: "Bearer "))
        #expect(!list.accepts(authorization: nil))
        let file = try #require(
            try BearerTokens(fileContents: "# deploy tokens\nfirst-token-0001\n\n  # old\nsecond-token-002\r\n"))
        #expect(file.count == 2)
        #expect(file.accepts(authorization: "Bearer second-token-002"))
        #expect(!file.accepts(authorization: "Bearer # old"))
        #expect(try BearerTokens(commaSeparated: " , ") == nil)
        #expect(try BearerTokens(fileContents: "# nothing\n") == nil)
    }

    @Test func theServeCommandReadsATokenFile() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)")
        try "# tokens for the test\nfile-token-000001\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let port = freePort()
        let gateway = try TaskgateProcess([
            "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", ns.server.url,
            "--key-prefix", ns.keys.prefix, "--api-token-file", file.path,
        ])
        defer { gateway.stop() }
        let client = HTTPClient(port: port)
        try await eventually("the gateway to listen") { (try? client.get("/healthz"))?.status == 200 }
        #expect(try client.post("/tasks", json: #"{"payload":1}"#).status == 401)
        let accepted = try client.request(
            "POST", "/tasks",
            headers: ["Content-Type": "application/json", "Authorization": "Bearer file-token-000001"],
            body: Data(#"{"payload":1}"#.utf8))
        #expect(accepted.status == 202)
        #expect(gateway.output.contains("1 bearer token(s)"))
    }

    @Test func aScopeNameAloneInTheTokenListStopsTheGateway() async throws {
        // "submit,read:web" in a comma-separated list would otherwise leave "submit" as a full-access token.
        let serve = try TaskgateProcess(
            ["serve", "--host", "127.0.0.1", "--port", "0"],
            environment: ["TASKGATE_API_TOKENS": "submit,read:web-0123456789abcdef"])
        defer { serve.stop() }
        #expect(try await serve.waitForExit() != 0)
        #expect(serve.output.contains("TASKGATE_API_TOKENS, entry 1: a scope with no token after it"))
        #expect(serve.output.contains("join scopes with + (submit+read:TOKEN)"))
    }
}

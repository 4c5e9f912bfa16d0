import Foundation
import TaskgateCore
import Testing

/// `Idempotency-Key` on `POST /tasks`, over a real socket.
@Suite(.dedicatedThreads) struct IdempotencyHTTPTests {
    private func post(_ fixture: GatewayFixture, _ json: String, key: String) throws -> TestResponse {
        try fixture.client.request(
            "POST", "/tasks", headers: ["Content-Type": "application/json", "Idempotency-Key": key],
            body: Data(json.utf8))
    }

    @Test func aRepeatedKeyReturnsTheOriginalTaskWith200() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let body = #"{"type":"email","payload":{"to":"a@example.com"}}"#
        let first = try post(fixture, body, key: "signup-7")
        #expect(first.status == 202)
        let id = try #require(first.json["id"] as? String)
        // Whitespace does not make another request: the body is compared as parsed.
        let again = try post(fixture, #"{ "type": "email", "payload": {"to": "a@example.com"} }"#, key: "signup-7")
        #expect(again.status == 200)
        #expect(again.json["id"] as? String == id)
        #expect(again.header("Location") == "/tasks/\(id)")
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }

    @Test func aKeyReusedForAnotherRequestIsA422Problem() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let first = try post(fixture, #"{"payload":1}"#, key: "k1")
        let id = try #require(first.json["id"] as? String)
        let other = try post(fixture, #"{"payload":2}"#, key: "k1")
        #expect(other.status == 422)
        #expect(other.header("Content-Type") == "application/problem+json")
        #expect(other.json["code"] as? String == "idempotency-key-reused")
        #expect((other.json["detail"] as? String)?.contains(id) == true)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }

    @Test func anInvalidKeyIsA400ProblemAndStoresNothing() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        for key in [String(repeating: "x", count: 256), "two words"] {
            let response = try post(fixture, #"{"payload":1}"#, key: key)
            #expect(response.status == 400)
            #expect(response.json["code"] as? String == "invalid-idempotency-key")
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
    }

    @Test func concurrentRequestsWithOneKeyCreateOneTask() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<12 {
                group.addTask {
                    let response = try post(fixture, #"{"payload":"once"}"#, key: "race")
                    return (response.status, response.json["id"] as? String)
                }
            }
            return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
        }
        #expect(answers.filter { $0.0 == 202 }.count == 1)
        #expect(answers.filter { $0.0 == 200 }.count == 11)
        #expect(Set(answers.map(\.1)).count == 1)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }
}

import Foundation
import TaskgateCore
import TaskgateRedis
import Testing

/// Hostile queue names, types, ids and idempotency keys never make the gateway touch a key outside its space.
@Suite(.dedicatedThreads) struct KeySpaceIsolationTests {
    @Test func hostileNamesNeverReachAnotherKeySpace() throws {
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop() }

        for queue in ["a}b", "{default}", "default:pending", "../x", "a b", "", String(repeating: "q", count: 65)] {
            let body = try JSONSerialization.data(withJSONObject: ["payload": 1, "queue": queue])
            let response = try fixture.client.post("/tasks", json: String(decoding: body, as: UTF8.self))
            #expect(response.status == 400, "queue \(queue)")
            #expect(response.json["field"] as? String == "/queue")
        }
        for type in ["a\nb", "x}y", "t{a}", "sp ace", String(repeating: "t", count: 129)] {
            let body = try JSONSerialization.data(withJSONObject: ["payload": 1, "type": type])
            let response = try fixture.client.post("/tasks", json: String(decoding: body, as: UTF8.self))
            #expect(response.status == 400, "type \(type)")
        }
        let hostileIDs = [
            "default%7D:pending.0123456789abcdef0123456789abcdef", "%7Bdefault%7D.0123456789abcdef0123456789abcdef",
            "default.0123456789abcdef0123456789abcdef:x", "..%2Fdefault.0123456789abcdef0123456789abcdef",
            "default.0123456789abcdef0123456789abcdef%00", "*", "default.*",
        ]
        for id in hostileIDs {
            #expect(try fixture.client.get("/tasks/\(id)").status == 404, "id \(id)")
        }
        // Valid but unusual names are stored, each under its own queue's tag.
        for (queue, key) in [("a.b-c_d", "}{:*?"), ("Z9", "x:{y}"), ("default", "key with no spaces")] {
            let body = #"{"payload":1,"queue":"\#(queue)"}"#
            let response = try fixture.client.request(
                "POST", "/tasks", headers: ["Content-Type": "application/json", "Idempotency-Key": key],
                body: Data(body.utf8))
            #expect(response.status == (key.contains(" ") ? 400 : 202), "queue \(queue), key \(key)")
        }

        let pattern = try Regex(
            "^" + ns.keys.prefix + #":\{[A-Za-z0-9._-]{1,64}\}:(task:[0-9a-f]{32}|pending|idempotency:[!-~]{1,255})$|^"#
                + ns.keys.prefix + ":queues$")
        let keys = try server.connect().send(RedisCommand("KEYS", "*")).array?.compactMap(\.string) ?? []
        #expect(keys.count == 7)  // two queues x (task, pending, idempotency), and the queue registry
        for key in keys {
            #expect(key.wholeMatch(of: pattern) != nil, "unexpected key \(key)")
        }
    }
}

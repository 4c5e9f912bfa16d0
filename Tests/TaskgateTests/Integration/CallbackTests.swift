import Foundation
import Synchronization
import TaskgateCore
import Testing

/// Completion callbacks: a real gateway, real worker processes delivering, a real HTTP receiver.
@Suite(.dedicatedThreads) struct CallbackTests {
    private static let allowLoopback = try! CallbackAllowList("127.0.0.1")

    private func callback(_ fixture: GatewayFixture, _ id: String) throws -> [String: Any]? {
        try fixture.task(id)["callback"] as? [String: Any]
    }

    /// A worker running `cat` that delivers callbacks with fast retries.
    private func worker(
        _ ns: TestNamespace, allow: String = "127.0.0.1", delays: String = "0.05,0.05", timeout: String = "5",
        environment: [String: String] = [:]
    ) throws -> TaskgateProcess {
        try TaskgateProcess.worker(
            ns, handler: ["--exec", "cat"],
            extra: [
                "--callback-allow", allow, "--callback-retry-delays", delays, "--callback-timeout-seconds", timeout,
            ],
            environment: environment)
    }

    @Test func aReceiverThatFailsTwiceGetsTheThirdTryEachSignedAndVerifiable() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { _, number in
            number <= 2 ? .init(status: 503, body: "busy \(number)") : .init(status: 204)
        }
        let keyBytes = Data((0..<32).map { UInt8($0 * 11 % 256) })
        let secret = "whsec_\(keyBytes.base64EncodedString())"
        let worker = try worker(ns, environment: ["TASKGATE_WEBHOOK_SECRET": secret])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":{"n":7},"callback_url":"\#(receiver.url("/done"))"}"#)
        try await eventually("the callback to be delivered") {
            try callback(fixture, id)?["state"] as? String == "delivered"
        }
        let delivery = try #require(try callback(fixture, id))
        #expect(delivery["tries"] as? Int == 3 && delivery["last_status"] as? Int == 204)
        #expect(delivery["url"] as? String == receiver.url("/done") && delivery["last_error"] is NSNull)
        let requests = receiver.requests
        #expect(requests.count == 3)
        #expect(requests.map { $0.header("taskgate-callback-try") } == ["1", "2", "3"])
        #expect(Set(requests.map { $0.header("webhook-id") }) == ["callback_\(id)"])
        for request in requests {
            #expect(request.method == "POST" && request.path == "/done")
            let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
            #expect(body["id"] as? String == id && body["state"] as? String == "succeeded")
            #expect((body["payload"] as? [String: Any])?["n"] as? Int == 7)
            // Verified as a receiver would, with Python's hmac module.
            let timestamp = try #require(request.header("webhook-timestamp").flatMap { Int($0) })
            var content = Data("callback_\(id).\(timestamp).".utf8)
            content.append(request.body)
            let mac = try referenceHMACSHA256(key: Array(keyBytes), message: Array(content))
            #expect(request.header("webhook-signature") == "v1," + Data(mac).base64EncodedString())
        }
    }

    @Test func aDeadTaskIsDeliveredToo() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 200) }
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--exec", "exit 3"], extra: ["--callback-allow", "127.0.0.1"])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1,"max_retries":0,"callback_url":"\#(receiver.url())"}"#)
        try await eventually("the callback to be delivered") {
            try callback(fixture, id)?["state"] as? String == "delivered"
        }
        let body = try #require(try JSONSerialization.jsonObject(with: receiver.requests[0].body) as? [String: Any])
        #expect(body["state"] as? String == "dead" && body["last_error"] as? String == "exit status 3")
    }

    @Test func aHostNotAllowedIsRefusedWith400() async throws {
        let ns = TestNamespace()
        let open = try GatewayFixture(namespace: ns)
        let allowing = try GatewayFixture(
            namespace: ns, callbackAllow: try CallbackAllowList(".example.com 10.0.0.0/8"))
        defer { open.stop(); allowing.stop(); ns.cleanUp() }
        let none = try open.client.post("/tasks", json: #"{"payload":1,"callback_url":"https://hooks.example.com/x"}"#)
        #expect(none.status == 400 && none.json["code"] as? String == "callback-not-allowed")
        #expect(none.header("content-type") == "application/problem+json")
        for url in ["http://127.0.0.1/x", "https://example.com/x", "http://10.0.0.1.example.org/", "http://[::1]/"] {
            let refused = try allowing.client.post("/tasks", json: #"{"payload":1,"callback_url":"\#(url)"}"#)
            #expect(refused.status == 400 && refused.json["code"] as? String == "callback-not-allowed", "\(url)")
        }
        for url in ["https://a.example.com/x", "http://10.1.2.3:8080/hook?x=1"] {
            let accepted = try allowing.client.post("/tasks", json: #"{"payload":1,"callback_url":"\#(url)"}"#)
            #expect(accepted.status == 202, "\(url)")
        }
        for url in ["ftp://a.example.com/", "https://user@a.example.com/", "a.example.com", "https://", 7] as [Any] {
            let value = url is String ? "\"\(url)\"" : "\(url)"
            let invalid = try allowing.client.post("/tasks", json: #"{"payload":1,"callback_url":\#(value)}"#)
            #expect(invalid.status == 400 && invalid.json["code"] as? String == "invalid-field", "\(url)")
        }
        let long = "https://a.example.com/" + String(repeating: "x", count: 2_100)
        let tooLong = try allowing.client.post("/tasks", json: #"{"payload":1,"callback_url":"\#(long)"}"#)
        #expect(tooLong.status == 400 && tooLong.json["field"] as? String == "/callback_url")
    }

    @Test func aHostThatBecameDisallowedIsNotCalled() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 200) }
        // The worker's own list no longer has the receiver's host.
        let worker = try worker(ns, allow: "10.0.0.0/8")
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1,"callback_url":"\#(receiver.url())"}"#)
        try await eventually("the delivery to give up") { try callback(fixture, id)?["state"] as? String == "dead" }
        let delivery = try #require(try callback(fixture, id))
        #expect((delivery["last_error"] as? String)?.contains("not allowed") == true)
        #expect(delivery["tries"] as? Int == 1)
        #expect(receiver.requests.isEmpty)
        let dead = try ns.redis("ZSCORE", ns.keys.deadCallbacks(.default), id)
        #expect(!dead.isNull)
    }

    @Test func redirectsAreNotFollowedAndTheLastStatusIsKept() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        let receiver = try TestHTTPReceiver { request, _ in
            request.path == "/hook" ? .init(status: 302, headers: [("Location", "/elsewhere")]) : .init(status: 200)
        }
        let worker = try worker(ns, delays: "")
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1,"callback_url":"\#(receiver.url())"}"#)
        try await eventually("the delivery to give up") { try callback(fixture, id)?["state"] as? String == "dead" }
        #expect(try callback(fixture, id)?["last_status"] as? Int == 302)
        #expect(receiver.requests.map(\.path) == ["/hook"])
    }

    @Test func aWorkerKilledWhileDeliveringLeavesTheDeliveryToAnother() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, callbackAllow: Self.allowLoopback)
        // The first try is never answered: its worker is killed while it waits, by the receiver itself as the
        // request arrives, so the kill lands before the try's own 1 s limit however busy the machine is.
        let firstPID = Mutex<pid_t?>(nil)
        let receiver = try TestHTTPReceiver { _, number in
            guard number == 1 else { return .init(status: 200) }
            if let pid = firstPID.withLock({ $0 }) { kill(pid, SIGKILL) }
            return nil
        }
        let first = try worker(ns, timeout: "1")
        firstPID.withLock { $0 = first.pid }
        defer { receiver.stop(); fixture.stop(); ns.cleanUp() }
        let id = try fixture.submit(#"{"payload":1,"callback_url":"\#(receiver.url())"}"#)
        _ = try await eventually("the first try to arrive") { receiver.requests.count == 1 }
        #expect(try await first.waitForExit() == 128 + SIGKILL)
        let second = try worker(ns, timeout: "1")
        defer { second.stop() }
        try await eventually("the callback to be delivered") {
            try callback(fixture, id)?["state"] as? String == "delivered"
        }
        #expect(receiver.requests.count == 2)
        #expect(try callback(fixture, id)?["tries"] as? Int == 2)
    }
}

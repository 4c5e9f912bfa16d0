import Foundation
import TaskgateCore
import Testing

/// `taskgate worker --http-target`: a real worker process POSTs tasks to a real HTTP receiver.
@Suite(.dedicatedThreads) struct PushTargetTests {
    private func state(_ fixture: GatewayFixture, _ id: String) throws -> String? {
        try fixture.task(id)["state"] as? String
    }

    @Test func aJSONAnswerIsStoredAsItsValue() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 200, body: #"{"message_id": "m-1", "queued": 2}"#) }
        let worker = try TaskgateProcess.worker(ns, handler: ["--http-target", receiver.url()])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":{"to":"ada@example.com"}}"#)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        #expect(try resultJSON(fixture.task(id)) == #"{"message_id":"m-1","queued":2}"#)
    }

    @Test func aChildIsPostedInAnEnvelopeWithItsParentsAndOthersAsTheirBarePayload() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, number in .init(status: 200, body: #"{"n":\#(number)}"#) }
        let worker = try TaskgateProcess.worker(ns, handler: ["--http-target", receiver.url()])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let parent = try fixture.submit(#"{"payload":{"to":"ada"}}"#)
        let child = try fixture.submit(#"{"payload":{"zip":true},"after":["\#(parent)"]}"#)
        try await eventually("the child to succeed") { try state(fixture, child) == "succeeded" }
        let requests = receiver.requests
        #expect(requests.count == 2)
        let first = try #require(requests.first { $0.header("taskgate-task-id") == parent })
        #expect(first.header("taskgate-envelope") == nil)
        #expect(String(decoding: first.body, as: UTF8.self) == #"{"to":"ada"}"#)
        let second = try #require(requests.first { $0.header("taskgate-task-id") == child })
        #expect(second.header("taskgate-envelope") == "parents")
        let envelope = try #require(try JSONSerialization.jsonObject(with: second.body) as? [String: Any])
        #expect((envelope["payload"] as? [String: Any])?["zip"] as? Bool == true)
        let parents = try #require(envelope["parents"] as? [String: [String: Any]])
        #expect(parents[parent]?["state"] as? String == "succeeded")
        #expect((parents[parent]?["result"] as? [String: Any])?["n"] as? Int == 1)
    }

    @Test func twoFailuresThenSuccessEndSucceededWithTwoRetriesOverReusedConnections() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, number in
            number <= 2
                ? .init(status: 500, body: "database is down (call \(number))") : .init(status: 200, body: "sent")
        }
        let worker = try TaskgateProcess.worker(ns, handler: ["--http-target", receiver.url()])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":{"to":"ada@example.com"},"type":"mail.send","max_retries":5}"#)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        let task = try fixture.task(id)
        #expect(task["retries"] as? Int == 2)
        #expect(task["attempts"] as? Int == 3)
        #expect(task["result"] as? String == "sent")
        #expect(task["last_error"] as? String == "HTTP 500 from \(receiver.origin): database is down (call 2)")
        let requests = receiver.requests
        #expect(requests.count == 3)
        #expect(requests.map { $0.header("taskgate-attempt") } == ["1", "2", "3"])
        #expect(requests.map { $0.header("taskgate-retries") } == ["0", "1", "2"])
        #expect(requests.allSatisfy { $0.method == "POST" && $0.path == "/hook" })
        #expect(requests.allSatisfy { String(decoding: $0.body, as: UTF8.self) == #"{"to":"ada@example.com"}"# })
        #expect(requests.allSatisfy { $0.header("taskgate-task-id") == id && $0.header("taskgate-queue") == "default" })
        #expect(requests.allSatisfy { $0.header("taskgate-task-type") == "mail.send" })
        #expect(requests.allSatisfy { $0.header("content-type") == "application/json" })
        // Keep-alive: all three attempts went over one connection.
        #expect(Set(requests.map(\.connection)).count == 1)
        // No signing secret: no webhook headers.
        #expect(requests.allSatisfy { $0.header("webhook-signature") == nil })
    }

    @Test func aRetryAfterOn429SchedulesTheRetryThatFarOut() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, number in
            number == 1 ? .init(status: 429, headers: [("Retry-After", "2")], body: "slow down") : .init(status: 204)
        }
        let worker = try TaskgateProcess.worker(ns, handler: ["--http-target", receiver.url()])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1}"#)
        let taskKey = ns.keys.task(TaskID(id)!)
        let scheduled = ns.keys.retrying(.default)
        // The task waits 2 s for its retry: watched from a thread of its own (see watch).
        let (runAt, failedAt, score) = try await watch("task \(id) retrying") { () throws -> (Int?, Int?, Double?)? in
            let fields = try ns.redis("HMGET", taskKey, "state", "run_at", "updated_at").array ?? []
            guard fields.first?.string == "retrying" else { return nil }
            let score = try ns.redis("ZSCORE", scheduled, id).string.flatMap { Double($0) }
            return (fields[1].string.flatMap { Int($0) }, fields[2].string.flatMap { Int($0) }, score)
        }
        // The backoff policy of the test worker is at most 0.2 s; the retry is due 2 s after the failure instead.
        let due = try #require(runAt)
        #expect(due - (try #require(failedAt)) == 2_000)
        #expect(score.map { Int($0) } == due)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        #expect(try fixture.task(id)["retries"] as? Int == 1)
        #expect(try fixture.task(id)["last_error"] as? String == "HTTP 429 from \(receiver.origin): slow down")
        #expect(receiver.requests.count == 2)
    }

    @Test func anAnswerSlowerThanTheTimeoutFailsTheAttempt() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, number in number == 1 ? nil : .init(status: 200, body: "late but ok") }
        let worker = try TaskgateProcess.worker(ns, handler: ["--http-target", receiver.url()])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1,"timeout_seconds":0.5,"max_retries":1}"#)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        let task = try fixture.task(id)
        #expect(task["retries"] as? Int == 1)
        #expect((task["last_error"] as? String)?.hasPrefix("timed out after 0.5 s") == true)
        #expect(task["result"] as? String == "late but ok")
    }

    /// A TCP socket bound to a free loopback port with no listen(): a connection to it is refused.
    private static func boundButNotListening() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw TestFailure("cannot bind: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func aRefusedConnectionAndARedirectAreFailures() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 302, headers: [("Location", "/elsewhere")]) }
        // A port bound but not listening refuses connections, and stays ours (a stopped listener's port could be
        // taken by another test's server meanwhile).
        let (closedSocket, closedPort) = try Self.boundButNotListening()
        let closedURL = "http://127.0.0.1:\(closedPort)/hook"
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--http-target", receiver.url(), "--http-target", "refused=\(closedURL)"])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp(); close(closedSocket) }

        let redirected = try fixture.submit(#"{"payload":1,"max_retries":0}"#)
        let refused = try fixture.submit(#"{"payload":1,"type":"refused","max_retries":0}"#)
        try await eventually("both tasks to be dead") {
            try state(fixture, redirected) == "dead" && state(fixture, refused) == "dead"
        }
        #expect(try fixture.task(redirected)["last_error"] as? String == "HTTP 302 from \(receiver.origin)")
        #expect(
            (try fixture.task(refused)["last_error"] as? String)?.hasPrefix(
                "POST http://127.0.0.1:\(closedPort) failed") == true)
        // The redirect was not followed.
        #expect(receiver.requests.map(\.path) == ["/hook"])
    }

    @Test func everyCallIsSignedAsStandardWebhooksSaysWithEverySecret() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 200, body: "ok") }
        let keyBytes = Data((0..<24).map { UInt8($0 * 7 % 256) })
        let secrets = "whsec_\(keyBytes.base64EncodedString()) plain-text-secret"
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--http-target", receiver.url()], environment: ["TASKGATE_SIGNING_SECRET": secrets])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":{"n":1,"s":"é"},"type":"report"}"#)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        let request = try #require(receiver.requests.first)
        #expect(request.header("webhook-id") == id)
        let timestamp = try #require(request.header("webhook-timestamp").flatMap { Int($0) })
        #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 3600)
        // Recomputed here with Python's hmac module, not through Taskgate's signer.
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(request.body)
        let expected = try [Array(keyBytes), Array("plain-text-secret".utf8)].map {
            "v1," + Data(try referenceHMACSHA256(key: $0, message: Array(content))).base64EncodedString()
        }
        #expect(request.header("webhook-signature") == expected.joined(separator: " "))
        // And Taskgate's own verifier, as an application would use it, agrees; a tampered body does not verify.
        let signer = try WebhookSigner(list: secrets)
        let signature = try #require(request.header("webhook-signature"))
        #expect(signer.verify(id: id, timestamp: timestamp, body: Array(request.body), signatureHeader: signature))
        #expect(!signer.verify(id: id, timestamp: timestamp, body: Array("{}".utf8), signatureHeader: signature))
    }

    @Test func anAnswerLongerThanTheBoundIsCutToIt() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let receiver = try TestHTTPReceiver { _, _ in
            .init(status: 200, body: String(repeating: "abcdefghij", count: 1000))
        }
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--http-target", receiver.url()], extra: ["--max-result-bytes", "25"])
        defer { worker.stop(); receiver.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1}"#)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        #expect(try fixture.task(id)["result"] as? String == "abcdefghijabcdefghijabcde")
    }
}

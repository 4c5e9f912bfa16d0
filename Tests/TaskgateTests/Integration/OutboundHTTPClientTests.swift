import Foundation
import Synchronization
import Testing

@testable import TaskgateWorker

/// The libcurl client that push targets and callbacks share, against a real HTTP server on loopback: what it
/// sends, what it keeps of an answer, and that a cancelled call ends at once.
@Suite(.dedicatedThreads) struct OutboundHTTPClientTests {
    private func request(
        _ url: String, body: String = "{}", timeoutMilliseconds: Int = 5_000, maxBodyBytes: Int = 1_024
    ) -> OutboundRequest {
        OutboundRequest(
            url: url, headers: [("content-type", "application/json"), ("x-one", "1")], body: Array(body.utf8),
            connectTimeoutMilliseconds: 2_000, timeoutMilliseconds: timeoutMilliseconds, maxBodyBytes: maxBodyBytes)
    }

    @Test func aPostCarriesItsHeadersAndBodyAndConnectionsAreReused() async throws {
        let receiver = try TestHTTPReceiver { _, number in .init(status: 201, body: "answer \(number)") }
        let client = OutboundHTTPClient(connectionsPerHost: 2)
        defer { client.shutdown(); receiver.stop() }
        // A body past 1 KiB, which libcurl would otherwise send only after an interim "100 Continue".
        let large = "{\"s\":\"" + String(repeating: "x", count: 4_000) + "\"}"
        let first = try await client.post(request(receiver.url(), body: large))
        let second = try await client.post(request(receiver.url()))
        #expect(first.status == 201 && String(decoding: first.body, as: UTF8.self) == "answer 1")
        #expect(second.status == 201 && String(decoding: second.body, as: UTF8.self) == "answer 2")
        let seen = receiver.requests
        #expect(seen.map(\.method) == ["POST", "POST"])
        #expect(seen.first?.body == Data(large.utf8))
        #expect(seen.first?.header("x-one") == "1" && seen.first?.header("expect") == nil)
        #expect(seen.map(\.connection) == [1, 1])
    }

    @Test func anAnswerIsKeptUpToTheLimitAndRetryAfterIsRead() async throws {
        let receiver = try TestHTTPReceiver { _, _ in
            .init(status: 503, headers: [("Retry-After", "7")], body: String(repeating: "y", count: 100_000))
        }
        let client = OutboundHTTPClient(connectionsPerHost: 1)
        defer { client.shutdown(); receiver.stop() }
        let answer = try await client.post(request(receiver.url(), maxBodyBytes: 100))
        #expect(answer.status == 503 && answer.body.count == 100 && answer.retryAfter == "7")
    }

    @Test func aRedirectIsAnAnswerNotFollowed() async throws {
        let receiver = try TestHTTPReceiver { _, _ in .init(status: 307, headers: [("Location", "/elsewhere")]) }
        let client = OutboundHTTPClient(connectionsPerHost: 1)
        defer { client.shutdown(); receiver.stop() }
        let answer = try await client.post(request(receiver.url()))
        #expect(answer.status == 307)
        #expect(receiver.requests.map(\.path) == ["/hook"])
    }

    @Test func aCancelledCallEndsAtOnceAndAnOverallTimeoutEndsAHungOne() async throws {
        // The receiver never answers.
        let receiver = try TestHTTPReceiver { _, _ in nil }
        let client = OutboundHTTPClient(connectionsPerHost: 4)
        defer { client.shutdown(); receiver.stop() }
        let call = Task { try await client.post(request(receiver.url(), timeoutMilliseconds: 0)) }
        try await eventually("the call to reach the receiver") { receiver.requests.count == 1 }
        call.cancel()
        let outcome = await call.result
        #expect(throws: CancellationError.self) { try outcome.get() }

        await #expect(throws: OutboundHTTPError.self) {
            try await client.post(request(receiver.url(), timeoutMilliseconds: 300))
        }
    }

    @Test func aRefusedConnectionAndAStoppedClientAreErrors() async throws {
        let client = OutboundHTTPClient(connectionsPerHost: 1)
        // Port 1 on loopback: nothing listens there.
        await #expect(throws: OutboundHTTPError.self) { try await client.post(request("http://127.0.0.1:1/hook")) }
        client.shutdown()
        await #expect(throws: OutboundHTTPError.self) { try await client.post(request("http://127.0.0.1:1/hook")) }
    }
}

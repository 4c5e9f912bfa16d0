import Foundation
import TaskgateHTTP
import Testing

/// Slow, stuck and too many clients cannot take the gateway away from everyone else.
@Suite(.dedicatedThreads) struct SlowClientTests {
    private static func configuration(connectionLimit: Int = 64) -> HTTPServerConfiguration {
        HTTPServerConfiguration(
            host: "127.0.0.1", port: 0, threads: 2, connectionTimeoutSeconds: 1, requestTimeoutSeconds: 2,
            connectionLimit: connectionLimit)
    }

    private static func head(contentLength: Int) -> String {
        "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(contentLength)\r\n\r\n"
    }

    /// Sends `bytes` on `fd`; `false` once the server has closed the connection.
    private static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }

    /// Blocks until the server closes `fd` (recv returns 0 or a reset) and returns the bytes it sent before;
    /// `nil` if the 30 s receive timeout hit first.
    private static func awaitClose(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var received = 0
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return received }
            if count < 0 { return errno == ECONNRESET ? received : nil }
            received += count
        }
    }

    @Test func aBodySentByteByByteIsAccepted() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration())
        defer { fixture.stop(); ns.cleanUp() }
        let body = Array(#"{"type":"slow","payload":{"bytes":"one at a time"}}"#.utf8)
        let fd = try fixture.client.connectSocket()
        defer { close(fd) }
        #expect(Self.send(fd, Array(Self.head(contentLength: body.count).utf8)))
        for byte in body {
            #expect(Self.send(fd, [byte]))
            usleep(2_000)  // pacing the simulated slow client, not waiting for the server
        }
        let response = try fixture.client.readResponse(fd)
        #expect(response.status == 202)
        #expect(response.json["type"] as? String == "slow")
    }

    @Test func aClientDribblingItsBodyIsCutOffWhileOthersAreServed() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration())
        defer { fixture.stop(); ns.cleanUp() }
        let fd = try fixture.client.connectSocket()
        defer { close(fd) }
        let declared = 1_000
        #expect(Self.send(fd, Array(Self.head(contentLength: declared).utf8) + Array(#"{"payload":""#.utf8)))
        // One byte every 100 ms: each byte resets the idle timeout, only the request deadline stops it.
        let dribbler = Task {
            try await offThePool { () -> Int in
                var sent = 0
                while sent < declared, Self.send(fd, [UInt8(ascii: "x")]) {
                    sent += 1
                    usleep(100_000)
                }
                return sent
            }
        }
        let served = try fixture.client.post("/tasks", json: #"{"payload":"meanwhile"}"#)
        #expect(served.status == 202)
        let sent = try await dribbler.value
        #expect(sent < declared)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 1)
    }

    @Test func aRequestThatNeverFinishesIsClosedWhileOthersAreServed() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration())
        defer { fixture.stop(); ns.cleanUp() }
        let stuck = try fixture.client.connectSocket()
        defer { close(stuck) }
        #expect(Self.send(stuck, Array("POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le".utf8)))
        #expect(try fixture.client.post("/tasks", json: #"{"payload":1}"#).status == 202)
        #expect(try fixture.client.get("/healthz").status == 200)
        #expect(Self.awaitClose(stuck) == 0)
    }

    @Test func overTheConnectionCapANewClientWaitsUntilAStuckOneIsDropped() throws {
        let ns = TestNamespace()
        let limit = 4
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration(connectionLimit: limit))
        defer { fixture.stop(); ns.cleanUp() }
        let stuck = try (0..<limit).map { _ in try fixture.client.connectSocket() }
        defer { stuck.forEach { close($0) } }
        for fd in stuck { #expect(Self.send(fd, Array("GET /healthz HTTP/1.1\r\n".utf8))) }
        // Over the cap, the gateway does not take the connection (it waits in the kernel's backlog) until a
        // stuck client has been dropped for idling; then it is served.
        let extra = try fixture.client.connectSocket()
        defer { close(extra) }
        #expect(Self.send(extra, Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)))
        let answer = try fixture.client.readResponse(extra)
        #expect(answer.status == 200)
        let dropped = stuck.filter { fd in
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0
        }
        #expect(!dropped.isEmpty, "the extra client was served while all \(limit) stuck ones were still connected")
    }
}

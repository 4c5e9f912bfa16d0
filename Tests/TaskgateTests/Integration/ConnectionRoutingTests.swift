import Foundation
import TaskgateCore
import TaskgateHTTP
import Testing

/// Connections are split between two libmicrohttpd daemons (streams and long-polls on one, everything else on
/// the other) by the server's own accept loop; the caps hold across both, and no client is lost on the way.
@Suite struct ConnectionRoutingTests {
    private static func configuration(connectionLimit: Int = 64, perIP: Int = 0) -> HTTPServerConfiguration {
        HTTPServerConfiguration(
            host: "127.0.0.1", port: 0, threads: 2, connectionTimeoutSeconds: 5, connectionLimit: connectionLimit,
            connectionLimitPerIP: perIP)
    }

    private static func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }

    /// Whether `fd` has anything to read (or was closed) within `milliseconds`.
    private static func readable(_ fd: Int32, within milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    /// Opens one event stream per new task and reads each head. A suspended stream notices a vanished client only
    /// when it next writes (the 15 s comment), so these tests free a place by ending a stream, not by hanging up.
    private static func taskStreams(_ count: Int, on fixture: GatewayFixture) async throws -> [String: EventStreamClient] {
        // Stored directly, not over HTTP: a closing connection frees its place a moment after the client sees
        // the close, and these tests count places exactly.
        let ids = try (0..<count).map { index -> String in
            guard case .created(let record) = try fixture.namespace.store.enqueue(TaskSubmission(payload: .integer(index)))
            else { throw TestFailure("task \(index) was not created") }
            return record.id.description
        }
        let streams = try await offThePool {
            try ids.map { id in
                let stream = try EventStreamClient(port: fixture.gateway.port, path: "/tasks/\(id)/events")
                try stream.readHead()
                return stream
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(ids, streams))
    }

    /// Finishes one pending task, which ends its stream; that client reads to the end and hangs up.
    private static func endOneStream(_ streams: [String: EventStreamClient], _ ns: TestNamespace) async throws {
        let task = try #require(try ns.store.claimBatch(from: .default, max: 1, leaseMilliseconds: 10_000).first)
        try ns.store.complete(task.lease, result: "", retentionMilliseconds: 60_000)
        let stream = try #require(streams[task.record.id.description])
        _ = try await offThePool { try stream.readToEnd() }
        #expect(stream.endedCleanly)
        stream.disconnect()
    }

    private static let healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    @Test func classifiesStreamsAndLongPollsByTheRequestLine() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration())
        defer { fixture.stop(); ns.cleanUp() }
        let responder = fixture.gateway.server.responder
        #expect(responder.keepsConnectionOpen(method: "GET", target: "/tasks/abc/events"))
        #expect(responder.keepsConnectionOpen(method: "GET", target: "/queues/mail/events?x=1"))
        #expect(responder.keepsConnectionOpen(method: "GET", target: "/tasks/abc?wait=30"))
        #expect(responder.keepsConnectionOpen(method: "GET", target: "/tasks/abc?pretty=1&wait=5"))
        #expect(!responder.keepsConnectionOpen(method: "GET", target: "/tasks/abc"))
        #expect(!responder.keepsConnectionOpen(method: "GET", target: "/tasks/abc?waiting=1"))
        #expect(!responder.keepsConnectionOpen(method: "POST", target: "/tasks"))
        #expect(!responder.keepsConnectionOpen(method: "POST", target: "/queues/mail/events"))
    }

    @Test func openStreamsCountTowardTheConnectionCap() async throws {
        let ns = TestNamespace()
        let limit = 3
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration(connectionLimit: limit))
        defer { fixture.stop(); ns.cleanUp() }
        let streams = try await Self.taskStreams(limit, on: fixture)
        #expect(streams.values.allSatisfy { $0.status == 200 })
        let extra = try fixture.client.connectSocket()
        defer { close(extra) }
        #expect(Self.send(extra, Self.healthz))
        // Every place is held by a stream (on the other daemon): the request waits in the kernel's backlog.
        #expect(!Self.readable(extra, within: 1_500), "served over the cap while \(limit) streams were open")
        try await Self.endOneStream(streams, ns)
        #expect(try fixture.client.readResponse(extra).status == 200)
        streams.values.forEach { $0.disconnect() }
    }

    @Test func thePerAddressCapSpansStreamsAndRequests() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration(perIP: 2))
        defer { fixture.stop(); ns.cleanUp() }
        let streams = try await Self.taskStreams(2, on: fixture)
        let refused = try fixture.client.connectSocket()
        defer { close(refused) }
        _ = Self.send(refused, Self.healthz)
        var byte: UInt8 = 0
        let count = recv(refused, &byte, 1, 0)
        #expect(count == 0 || (count < 0 && errno == ECONNRESET), "a third connection from one address was kept")
        try await Self.endOneStream(streams, ns)
        // The gateway sees the hang-up a moment after the client made it; until then a new connection is refused.
        try await eventually("a connection is served once a stream has ended") {
            (try? fixture.client.get("/healthz"))?.status == 200
        }
        streams.values.forEach { $0.disconnect() }
    }

    @Test func aRequestLineInPiecesAndAClientSilentPastTheDecisionAreServed() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration())
        defer { fixture.stop(); ns.cleanUp() }
        let status = try await offThePool { () -> Int in
            let fd = try fixture.client.connectSocket()
            defer { close(fd) }
            _ = Self.send(fd, "GET /queues/rou")
            usleep(200_000)  // pacing the simulated client: the router must wait for the rest of the target
            _ = Self.send(fd, "ted/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            var head = Data()
            var buffer = [UInt8](repeating: 0, count: 1024)
            while head.range(of: Data("\r\n\r\n".utf8)) == nil {
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                head.append(contentsOf: buffer[0..<count])
            }
            return Int(String(decoding: head, as: UTF8.self).split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        #expect(status == 200)
        let late = try await offThePool { () -> Int in
            let fd = try fixture.client.connectSocket()
            defer { close(fd) }
            usleep(1_300_000)  // the simulated client says nothing for longer than the router waits
            _ = Self.send(fd, Self.healthz)
            return try fixture.client.readResponse(fd).status
        }
        #expect(late == 200)
    }

    @Test func connectionsThatCloseGiveTheirPlaceBack() throws {
        let ns = TestNamespace()
        let limit = 2
        let fixture = try GatewayFixture(namespace: ns, http: Self.configuration(connectionLimit: limit))
        defer { fixture.stop(); ns.cleanUp() }
        // Closed before a word, closed after an answer: either way the place is free again, many times over.
        for _ in 0..<(limit * 4) { close(try fixture.client.connectSocket()) }
        for _ in 0..<(limit * 4) {
            let fd = try fixture.client.connectSocket()
            defer { close(fd) }
            #expect(Self.send(fd, Self.healthz))
            #expect(try fixture.client.readResponse(fd).status == 200)
        }
    }
}

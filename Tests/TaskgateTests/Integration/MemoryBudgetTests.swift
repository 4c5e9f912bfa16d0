import Foundation
import TaskgateCore
import TaskgateHTTP
import Testing

/// The memory budget against the attack it exists for: many clients each sending a 1 MB body and holding
/// back its last byte, against a real gateway process with its default settings.
@Suite(.dedicatedThreads) struct MemoryBudgetTests {
    private func residentBytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { throw TestFailure("no VmRSS for pid \(pid)") }
        return kilobytes * 1024
    }

    @Test func heldBodiesOverTheBudgetAreRefusedAFreshClientIsServedAndMemoryComesBack() async throws {
        let ns = TestNamespace()
        let port = freePort()
        let gateway = try TaskgateProcess(
            [
                "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", ns.server.url, "--key-prefix",
                ns.keys.prefix, "--log-level", "warning",
                // A hundred held connections from 127.0.0.1: past the default per-address cap (64).
                "--max-connections-per-ip", "0",
            ])
        defer { gateway.stop(); ns.cleanUp() }
        let client = HTTPClient(port: port)
        _ = try await eventuallyValue("the gateway to listen") { try? client.get("/healthz") }
        // Warm up: one ordinary request, so idle RSS includes what every request touches.
        #expect(try client.post("/tasks", json: #"{"payload":1}"#).status == 202)
        let idle = try residentBytes(gateway.pid)

        let bodyBytes = 1_000_000
        let head = Data(
            ("POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(bodyBytes)\r\n\r\n")
                .utf8)
        let almostAll = Data(repeating: UInt8(ascii: " "), count: bodyBytes - 1)
        let held = try await offThePool { () -> [(fd: Int32, refused: Bool)] in
            try (0..<100).map { _ in
                let fd = try client.connectSocket()
                var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var sent = head.withUnsafeBytes { send(fd, $0.baseAddress!, head.count, Int32(MSG_NOSIGNAL)) }
                if sent == head.count {
                    sent = almostAll.withUnsafeBytes { raw in
                        var offset = 0
                        while offset < raw.count {
                            let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                            if n <= 0 { break }
                            offset += n
                        }
                        return offset
                    }
                }
                // A refused body gets its answer at once; a held one gets none (it is not complete).
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
                let answered = poll(&fds, 1, sent == almostAll.count ? 50 : 2_000) == 1
                return (fd, answered)
            }
        }
        let refused = held.filter(\.refused)
        // 48 MiB of the 64 MiB budget may go to large bodies: 50 of them fit, the other 50 are refused.
        #expect(refused.count >= 40 && refused.count <= 60, "\(refused.count) refused")
        for entry in refused.prefix(5) {
            let answer = try client.readResponse(entry.fd)
            #expect(answer.status == 503)
            #expect(answer.header("retry-after") == "1")
            #expect(answer.header("content-type") == "application/problem+json")
            #expect(answer.json["code"] as? String == "overloaded")
        }
        // While the bodies are held, a fresh client is served.
        #expect(try client.post("/tasks", json: #"{"payload":"fresh"}"#).status == 202)
        let holding = try residentBytes(gateway.pid)
        #expect(holding < idle + 96 << 20, "RSS \(holding >> 20) MiB while holding, idle \(idle >> 20) MiB")

        // Closed once, here: a second close could hit a descriptor reused by another test's in-process gateway.
        held.forEach { close($0.fd) }
        let after = try await watch("the gateway to hand the bodies' memory back") { () -> Int? in
            let now = try residentBytes(gateway.pid)
            return now < idle + 16 << 20 ? now : nil
        }
        #expect(after < idle + 16 << 20)
    }

    @Test func aChunkedBodyOverTheBudgetIsRefusedAndStoresNothing() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(
            namespace: ns,
            http: HTTPServerConfiguration(
                host: "127.0.0.1", port: 0, threads: 2, maxBodyBytes: 1 << 20, maxInflightBodyBytes: 1 << 20))
        defer { fixture.stop(); ns.cleanUp() }
        // 900,000 bytes without a Content-Length: more than the 768 KiB a large body may hold of a 1 MiB budget.
        let payload = #"{"payload":""# + String(repeating: "x", count: 899_980) + #""}"#
        var raw = Data(
            "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                .utf8)
        let bytes = Array(payload.utf8)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(bytes.count, index + 65_536)]
            raw.append(Data((String(chunk.count, radix: 16) + "\r\n").utf8))
            raw.append(contentsOf: chunk)
            raw.append(Data("\r\n".utf8))
            index += chunk.count
        }
        raw.append(Data("0\r\n\r\n".utf8))
        let client = fixture.client
        let request = raw
        let answer = try await offThePool { try client.exchange(rawRequest: request) }
        #expect(answer.status == 503)
        #expect(answer.header("retry-after") == "1" && answer.json["code"] as? String == "overloaded")
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
        // The budget is whole again: the same body, smaller, is taken.
        #expect(try client.post("/tasks", json: #"{"payload":"small"}"#).status == 202)
    }

    @Test func largeReservationsLeaveRoomForSmallOnes() {
        let budget = MemoryBudget(limit: 4 << 20)
        #expect(budget.reserve(2 << 20))
        #expect(budget.reserve(1 << 20))
        #expect(!budget.reserve(1 << 20), "past three quarters for a large one")
        #expect(budget.reserve(64 * 1024), "a small one still fits")
        budget.release(2 << 20)
        #expect(budget.reserve(1 << 20))
        #expect(budget.inUse == (2 << 20) + 64 * 1024)
        #expect(HTTPStream(limit: 1_024, budget: MemoryBudget(limit: 1)) != nil, "a budget is at least 1 MiB")
    }
}

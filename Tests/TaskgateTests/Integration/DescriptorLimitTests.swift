import Foundation
import Testing

/// `taskgate serve` fits its connection cap to the open-file limit: it raises a low soft limit, and lowers the cap
/// (saying so) when even the hard limit is too low, instead of failing to accept later under load.
@Suite(.dedicatedThreads) struct DescriptorLimitTests {
    /// The soft and hard `Max open files` of a running process, from `/proc`.
    private func openFileLimits(_ pid: Int32) throws -> (soft: Int, hard: Int) {
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        guard let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") }) else {
            throw TestFailure("no open-file limit for pid \(pid)")
        }
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        guard numbers.count >= 2 else { throw TestFailure("cannot read \(line)") }
        return (numbers[0], numbers[1])
    }

    private func serve(_ ns: TestNamespace, port: Int, soft: Int, hard: Int, extra: [String] = []) throws
        -> TaskgateProcess
    {
        try TaskgateProcess(
            [
                "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", ns.server.url, "--key-prefix",
                ns.keys.prefix, "--log-level", "warning",
                // Its connections all come from 127.0.0.1, past the default per-address cap (64).
                "--max-connections-per-ip", "0",
            ] + extra, descriptorLimit: (soft, hard))
    }

    @Test func aLowSoftLimitIsRaisedToFitTheDefaultCap() async throws {
        let ns = TestNamespace()
        var own = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &own)
        let hard = Int(min(own.rlim_max, 1 << 20))
        try #require(hard >= 4096 + 128, "this machine's hard open-file limit (\(hard)) is below the default cap")
        let port = freePort()
        let gateway = try serve(ns, port: port, soft: 256, hard: hard)
        defer { gateway.stop(); ns.cleanUp() }
        let client = HTTPClient(port: port)
        _ = try await eventuallyValue("the gateway to listen") { try? client.get("/healthz") }
        let limits = try openFileLimits(gateway.pid)
        #expect(limits.soft == 4096 + 128)
        #expect(limits.hard == hard)
        #expect(!gateway.output.contains("max connections lowered"))
    }

    @Test func underALowHardLimitTheCapIsLoweredSaidAndKept() async throws {
        let ns = TestNamespace()
        let port = freePort()
        let hard = 200
        let cap = hard - 128
        let gateway = try serve(ns, port: port, soft: hard, hard: hard)
        defer { gateway.stop(); ns.cleanUp() }
        let client = HTTPClient(port: port)
        _ = try await eventuallyValue("the gateway to listen") { try? client.get("/healthz") }
        #expect(gateway.output.contains("max connections lowered"))
        #expect(gateway.output.contains("max_connections=\(cap)"))
        // Every place under the lowered cap is served (it was not lowered further) ...
        let held = try (0..<(cap - 1)).map { _ in try client.connectSocket() }
        defer { held.forEach { close($0) } }
        let last = try client.connectSocket()
        defer { close(last) }
        let request = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        #expect(send(last, request, request.count, Int32(MSG_NOSIGNAL)) == request.count)
        let answer = try await offThePool { () -> String in
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = recv(last, &buffer, buffer.count, 0)
            return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        }
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        // ... and one over it waits in the kernel's backlog, where the descriptor limit cannot fail it.
        let over = try client.connectSocket()
        defer { close(over) }
        #expect(send(over, request, request.count, Int32(MSG_NOSIGNAL)) == request.count)
        var entry = pollfd(fd: over, events: Int16(POLLIN), revents: 0)
        #expect(poll(&entry, 1, 1_000) == 0, "served over the lowered cap of \(cap)")
        #expect(gateway.process.isRunning)
    }
}

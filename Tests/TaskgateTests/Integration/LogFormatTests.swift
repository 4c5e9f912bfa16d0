import Foundation
import TaskgateCore
import Testing

/// `--log-format json`: every line the gateway writes is one JSON object, libmicrohttpd's own messages
/// included (through its external logger), with metadata as fields.
@Suite(.dedicatedThreads) struct LogFormatTests {
    @Test func everyLineIsOneJSONObjectLibmicrohttpdIncluded() async throws {
        let ns = TestNamespace()
        let port = freePort()
        let gateway = try TaskgateProcess([
            "serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", ns.server.url, "--key-prefix",
            ns.keys.prefix, "--log-level", "info", "--log-format", "json",
        ])
        defer { gateway.stop(); ns.cleanUp() }
        let client = HTTPClient(port: port)
        _ = try await eventuallyValue("the gateway to listen") { try? client.get("/healthz") }
        // A header block over the per-connection memory: libmicrohttpd refuses it itself and logs why, with a
        // formatted message (the status is one of its arguments).
        let head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n"
        let answer = try client.exchange(rawRequest: Data(head.utf8))
        #expect([414, 431].contains(answer.status))
        try await eventually("libmicrohttpd's message in the log") {
            gateway.output.contains("HTTP response code is \(answer.status)")
        }
        let lines = gateway.output.split(separator: "\n")
        let objects = lines.map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        #expect(!lines.isEmpty)
        #expect(objects.allSatisfy { $0 != nil }, "not JSON: \(zip(lines, objects).filter { $1 == nil }.map(\.0))")
        let records = objects.compactMap { $0 }
        #expect(records.allSatisfy { $0["time"] is String && $0["level"] is String && $0["message"] is String })
        let listening = records.first { $0["message"] as? String == "listening" }
        #expect(listening?["port"] as? String == String(port), "metadata is not a field of its own")
        let library = records.first { $0["source"] as? String == "libmicrohttpd" }
        #expect((library?["message"] as? String)?.hasPrefix("Error processing request") == true)
        #expect(library?["level"] as? String == "notice")
        // The external logger is libmicrohttpd's first option, so it never falls back to its own stderr lines.
        #expect(!gateway.output.contains("Some messages may be printed by the standard MHD logger"))
    }

    @Test func aWorkerNamesTheTaskQueueAndAttemptAsFields() async throws {
        let ns = TestNamespace()
        guard case .created(let record) = try ns.store.enqueue(TaskSubmission(payload: .integer(1), maxRetries: 0))
        else { throw TestFailure("the task was not created") }
        let worker = try TaskgateProcess.worker(ns, exec: "false", extra: ["--log-format", "json"])
        defer { worker.stop(); ns.cleanUp() }
        let failed = try await eventuallyValue("the worker to log the failure") { () -> [String: Any]? in
            worker.output.split(separator: "\n").lazy
                .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
                .first { $0["message"] as? String == "task failed" }
        }
        #expect(failed["id"] as? String == record.id.description)
        #expect(failed["queue"] as? String == "default")
        #expect(failed["attempt"] as? String == "1")
        #expect(failed["error"] is String)
    }

    @Test func anUnknownLogFormatIsRefused() async throws {
        let process = try TaskgateProcess(["serve", "--log-format", "yaml"])
        defer { process.stop() }
        #expect(try await process.waitForExit() != 0)
        #expect(process.output.contains("log format must be text or json"))
    }
}

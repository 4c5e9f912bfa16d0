import Foundation
import TaskgateCore
import Testing

/// The operator commands of the `taskgate` binary against real Redis: the same seams as the HTTP API, tables for
/// people, `--json` for scripts, exit codes scripts can test.
@Suite(.dedicatedThreads) struct OperatorCLITests {
    /// Runs `taskgate <arguments>` on the namespace and returns its exit status and output.
    private func run(_ ns: TestNamespace, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try TaskgateProcess(
            arguments + ["--redis-url", ns.server.url, "--key-prefix", ns.keys.prefix])
        defer { process.stop() }
        let status = try await process.waitForExit(timeout: 30)
        return (status, process.output)
    }

    private func json(_ text: String) throws -> [String: Any] {
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("{") })
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func schedulesSetShowPauseTriggerDeleteAndTheirExitCodes() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let set = try await run(
            ns,
            [
                "schedule", "set", "nightly", "--cron", "30 2 * * *", "--timezone", "Europe/Berlin", "--queue",
                "reports", "--type", "build", "--payload", #"{"n":1}"#, "--overlap", "skip", "--json",
            ])
        #expect(set.status == 0)
        let created = try json(set.output)
        #expect(created["cron"] as? String == "30 2 * * *" && created["overlap"] as? String == "skip")
        #expect((created["next_run"] as? String)?.hasSuffix("T01:30:00.000Z") == true)
        // The template's queue is registered with the schedule.
        #expect(try ns.redis("ZSCORE", ns.keys.queues, "reports").string != nil)
        // Refused as PUT /schedules refuses it: exit 65 naming the field; the schedule stays as it was.
        let refused = try await run(ns, ["schedule", "set", "nightly", "--cron", "61 * * * *"])
        #expect(refused.status == 65)
        #expect(refused.output.contains("/cron"))
        #expect(try await run(ns, ["schedule", "set", "bad name", "--cron", "@daily"]).status == 64)

        let table = try await run(ns, ["schedules"])
        #expect(table.status == 0)
        #expect(table.output.split(separator: "\n").contains { $0.hasPrefix("nightly ") && $0.contains("30 2 * * *") })
        #expect(
            try json(try await run(ns, ["schedule", "pause", "nightly", "--json"]).output)["paused"] as? Bool == true)
        let fired = try await run(ns, ["schedule", "trigger", "nightly", "--json"])
        #expect(fired.status == 0)
        let task = try json(fired.output)
        #expect(task["schedule"] as? String == "nightly" && task["queue"] as? String == "reports")
        let shown = try json(try await run(ns, ["schedule", "show", "nightly", "--json"]).output)
        #expect((shown["last_run"] as? [String: Any])?["task_id"] as? String == task["id"] as? String)
        #expect(shown["cron"] as? String == "30 2 * * *")
        #expect(try await run(ns, ["schedule", "resume", "nightly"]).status == 0)
        #expect(try await run(ns, ["schedule", "delete", "nightly"]).status == 0)
        #expect(try await run(ns, ["schedule", "delete", "nightly"]).status == 3)
        #expect(try await run(ns, ["schedule", "show", "nightly"]).status == 3)
    }

    @Test func enqueueListPauseCancelAndTheirExitCodes() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let enqueued = try await run(
            ns, ["enqueue", "mail", "--payload", #"{"to":"a@example.com"}"#, "--type", "send"])
        #expect(enqueued.status == 0)
        let id = try #require(TaskID(enqueued.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(try ns.store.task(id)?.type == "send")
        // Checked as POST /tasks checks it: a bad payload is a usage error, nothing stored.
        let bad = try await run(ns, ["enqueue", "mail", "--payload", "{nope"])
        #expect(bad.status == 64)
        #expect(try ns.redis("LLEN", ns.keys.pending(QueueName("mail")!)).int == 1)

        let table = try await run(ns, ["queues"])
        #expect(table.status == 0)
        let lines = table.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("queue") == true)
        #expect(lines.contains { $0.hasPrefix("mail ") && $0.contains(" 1 ") })

        #expect(try await run(ns, ["pause", "mail"]).status == 0)
        let listed = try json(try await run(ns, ["queues", "--json"]).output)
        let mail = try #require((listed["queues"] as? [[String: Any]])?.first)
        #expect(mail["paused"] as? Bool == true)
        #expect((mail["depths"] as? [String: Any])?["pending"] as? Int == 1)

        let tasks = try json(try await run(ns, ["tasks", "mail", "--state", "pending", "--json"]).output)
        #expect((tasks["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id.rawValue])

        let cancelled = try await run(ns, ["cancel", id.rawValue, "--json"])
        #expect(cancelled.status == 0)
        #expect(try json(cancelled.output)["state"] as? String == "cancelled")
        // Exit codes: 4 when the state does not allow it, 3 for an unknown task, 64 for a malformed id.
        #expect(try await run(ns, ["cancel", id.rawValue]).status == 4)
        #expect(try await run(ns, ["requeue", id.rawValue]).status == 4)
        #expect(try await run(ns, ["delete", "mail.0123456789abcdef0123456789abcdef"]).status == 3)
        #expect(try await run(ns, ["task", "nonsense"]).status == 64)
        let shown = try await run(ns, ["task", id.rawValue])
        #expect(shown.status == 0)
        #expect(shown.output.contains("state       cancelled"))
        #expect(try await run(ns, ["delete", id.rawValue]).status == 0)
        #expect(try ns.store.task(id) == nil)
    }

    @Test func batchShowTasksWaitingAndATaskWithItsChildren() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let queue = QueueName("cli-wf")!
        let (records, batch) = try ns.store.storeWorkflow(
            [TaskSubmission(payload: .integer(1), queue: queue), TaskSubmission(payload: .integer(2), queue: queue)],
            graph: try TaskGraph([.init(ref: "p"), .init(after: ["p"])]),
            batch: BatchSpec(metadata: .object([JSONMember("album", .integer(7))])), retentionMilliseconds: 60_000,
            workflowRetentionMilliseconds: 60_000)
        let batchID = try #require(batch)

        let shown = try await run(ns, ["batch", "show", batchID])
        #expect(shown.status == 0, "\(shown.output)")
        let lines = shown.output.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("total ") && $0.hasSuffix(" 2") }, "\(shown.output)")
        #expect(lines.contains { $0.hasPrefix("unfinished ") && $0.hasSuffix(" 2") })
        #expect(lines.contains { $0.hasPrefix("complete ") && $0.hasSuffix(" no") })
        let shownJSON = try json(try await run(ns, ["batch", "show", batchID, "--json"]).output)
        #expect(
            shownJSON["id"] as? String == batchID && (shownJSON["metadata"] as? [String: Any])?["album"] as? Int == 7)
        let unknown = try await run(ns, ["batch", "show", "feed"])
        #expect(unknown.status == 3 && unknown.output.contains("no batch feed"))
        #expect(try await run(ns, ["batch", "show", "a b"]).status == 64)

        // The child waits: listed with --waiting (or --state waiting); its parent shows it as a child.
        let waiting = try await run(ns, ["tasks", queue.rawValue, "--waiting"])
        #expect(waiting.status == 0)
        #expect(waiting.output.contains(records[1].id.rawValue) && !waiting.output.contains(records[0].id.rawValue))
        let listed = try json(try await run(ns, ["tasks", queue.rawValue, "--state", "waiting", "--json"]).output)
        #expect((listed["tasks"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [records[1].id.rawValue])
        let parent = try json(try await run(ns, ["task", records[0].id.rawValue, "--json"]).output)
        #expect(parent["children"] as? [String] == [records[1].id.rawValue] && parent["children_count"] as? Int == 1)
    }

    @Test func requeueAllDeadTakesEveryDeadTaskOfAQueue() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let queue = QueueName("mail")!
        for _ in 0..<30 {
            _ = try ns.store.enqueue(TaskSubmission(payload: .integer(1), queue: queue, maxRetries: 0))
            let claimed = try #require(try ns.store.claim(from: queue))
            _ = try ns.store.fail(
                claimed.lease, error: "smtp down", backoffMilliseconds: 0, retentionMilliseconds: 60_000)
        }
        let dead = try await run(ns, ["tasks", "mail", "--state", "dead", "--error", "SMTP", "--limit", "10"])
        #expect(dead.status == 0)
        #expect(dead.output.split(separator: "\n").filter { $0.hasPrefix("mail.") }.count == 10)
        #expect(dead.output.contains("more: --cursor "))
        let requeued = try await run(ns, ["requeue", "--all-dead", "mail"])
        #expect(requeued.status == 0)
        #expect(requeued.output.contains("requeued 30 dead tasks of mail"))
        #expect(try ns.redis("LLEN", ns.keys.pending(queue)).int == 30)
        #expect(try await run(ns, ["requeue"]).status == 64)
    }

    @Test func withRedisDownTheCommandsExitWith1AndSayWhy() async throws {
        // Nothing listens on this port: every command that needs Redis fails the same way.
        let url = "redis://127.0.0.1:\(freePort())/0"
        for arguments in [
            ["queues"], ["tasks", "mail"], ["pause", "mail"], ["cancel", "mail.0123456789abcdef0123456789abcdef"],
            ["enqueue", "mail", "--payload", "1"],
        ] {
            let process = try TaskgateProcess(arguments + ["--redis-url", url])
            defer { process.stop() }
            #expect(try await process.waitForExit(timeout: 30) == 1, "\(arguments)")
            #expect(process.output.contains("task store unavailable"), "\(arguments): \(process.output)")
        }
    }
}

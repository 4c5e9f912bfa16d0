import Foundation
import TaskgateCore
import Testing

/// A real `taskgate worker` process against the in-process gateway and a real Redis.
@Suite(.dedicatedThreads) struct WorkerProcessTests {
    private func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "taskgate-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    private func state(_ fixture: GatewayFixture, _ id: String) throws -> String? {
        try fixture.task(id)["state"] as? String
    }

    @Test func enqueueThenRunThroughAWorkerProcess() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(
            ns,
            exec:
                #"cat; echo; printf '%s|%s|%s|%s|%s' "$TASKGATE_TASK_ID" "$TASKGATE_TASK_TYPE" "$TASKGATE_QUEUE" "$TASKGATE_ATTEMPT" "$TASKGATE_RETRIES""#
        )
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        // A payload that would do harm if it ever reached the command line.
        let id = try fixture.submit(#"{"payload":{"cmd":"$(touch /tmp/taskgate-pwned); `id`"},"type":"report"}"#)
        try await eventually("task \(id) to succeed") { try state(fixture, id) == "succeeded" }
        let task = try fixture.task(id)
        #expect(
            task["result"] as? String == #"{"cmd":"$(touch /tmp/taskgate-pwned); `id`"}"# + "\n\(id)|report|default|1|0"
        )
        #expect(task["attempts"] as? Int == 1)
        #expect(task["retries"] as? Int == 0)
        #expect(task["finished_at"] is String)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/taskgate-pwned"))
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == 0)
    }

    @Test func alwaysFailingTaskEndsDeadWithRetriesEqualToMax() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let log = directory.appendingPathComponent("retries.log").path
        let worker = try TaskgateProcess.worker(
            ns,
            exec: #"echo "$TASKGATE_RETRIES" >> "# + log
                + #"; echo "disk on fire (retry $TASKGATE_RETRIES)" >&2; exit 3"#)
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":"doomed","max_retries":3}"#)
        var observed: [Int] = []
        try await eventually("task \(id) to be dead") {
            let counter = try fixture.client.get("/tasks/\(id)/retries")
            #expect(counter.status == 200)
            if let retries = counter.json["retries"] as? Int, observed.last != retries { observed.append(retries) }
            return try state(fixture, id) == "dead"
        }
        let counter = try fixture.client.get("/tasks/\(id)/retries").json
        #expect(counter["retries"] as? Int == 3)
        #expect(counter["max_retries"] as? Int == 3)
        #expect(observed == observed.sorted())
        #expect(observed.allSatisfy { $0 <= 3 })
        let task = try fixture.task(id)
        #expect(task["attempts"] as? Int == 4)
        #expect(task["last_error"] as? String == "exit status 3: disk on fire (retry 3)")
        // The handler saw the counter climb, one attempt per value.
        let seen = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(seen == ["0", "1", "2", "3"])
        #expect(try ns.redis("ZSCORE", ns.keys.dead(.default), id).string != nil)
    }

    @Test func twoWorkersOnOneQueueRunEachTaskOnce() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let log = directory.appendingPathComponent("runs.log").path
        let command = #"echo "$TASKGATE_TASK_ID" >> "# + log
        let first = try TaskgateProcess.worker(ns, exec: command, extra: ["--concurrency", "4"])
        let second = try TaskgateProcess.worker(ns, exec: command, extra: ["--concurrency", "4"])
        defer { first.stop(); second.stop(); fixture.stop(); ns.cleanUp() }

        var ids = Set<String>()
        for index in 0..<150 { ids.insert(try fixture.submit("{\"payload\":\(index)}")) }
        // Awaited on the records: a claimed task is on neither list while it runs (its lease holds it), so empty
        // lists do not mean every task has finished.
        try await eventually(timeout: 60, "all tasks to succeed") {
            try ids.allSatisfy { try state(fixture, $0) == "succeeded" }
        }
        let runs = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(runs.count == ids.count)
        #expect(Set(runs) == ids)
    }

    @Test func delayedTaskDoesNotStartEarly() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(ns, exec: "true")
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let response = try fixture.client.post("/tasks", json: #"{"payload":1,"delay_seconds":1.5}"#)
        #expect(response.json["state"] as? String == "scheduled")
        let id = try #require(response.json["id"] as? String)
        try await eventually("delayed task to succeed") { try state(fixture, id) == "succeeded" }
        let taskID = try #require(TaskID(id))
        let record = try #require(try ns.store.task(taskID))
        let started = try #require(record.startedAt)
        #expect(started.milliseconds - record.createdAt.milliseconds >= 1500)
    }

    @Test func finishedRecordExpiresAfterItsRetention() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(ns, exec: "echo ok", extra: ["--retention-seconds", "3"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1}"#)
        let taskID = try #require(TaskID(id))
        // Succeeded for 3 s only: watched from a thread of its own, and its time to live read in the same look.
        let store = ns.store
        let ttl = try await watch("task to succeed") { () throws -> Int? in
            guard try store.task(taskID)?.state == .succeeded else { return nil }
            return try ns.redis("PTTL", ns.keys.task(taskID)).int
        }
        #expect(ttl > 0 && ttl <= 3000)
        try await eventually("record to expire") { try fixture.client.get("/tasks/\(id)").status == 404 }
        expectProblem(try fixture.client.get("/tasks/\(id)/retries"), code: "not-found")
    }

    @Test func sigtermLetsTheRunningTaskFinish() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let worker = try TaskgateProcess.worker(
            ns, exec: #"touch ""# + directory.path + #"/$TASKGATE_TASK_ID"; sleep 1; echo finished"#)
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1}"#)
        try await eventually("task to start") {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent(id).path)
        }
        worker.signal(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
        let task = try fixture.task(id)
        #expect(task["state"] as? String == "succeeded")
        #expect(task["result"] as? String == "finished\n")
    }

    @Test func execOutputThatIsJSONIsStoredAsThatValue() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(
            ns,
            exec:
                #"if [ "$TASKGATE_TASK_TYPE" = json ]; then printf ' {"w": 640, "tags": ["a"]}\n'; else echo plain; fi"#
        )
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let json = try fixture.submit(#"{"payload":1,"type":"json"}"#)
        let plain = try fixture.submit(#"{"payload":1,"type":"text"}"#)
        try await eventually("both tasks to succeed") {
            try state(fixture, json) == "succeeded" && state(fixture, plain) == "succeeded"
        }
        #expect(try resultJSON(fixture.task(json)) == #"{"tags":["a"],"w":640}"#)
        #expect(try fixture.task(plain)["result"] as? String == "plain\n")
    }

    @Test func anExecChildReadsItsParentsFromTheFileItsEnvironmentNamesWhichIsGoneAfter() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(
            ns,
            exec: #"""
                if [ -n "$TASKGATE_PARENTS_FILE" ]; then
                  printf '{"mode":"%s","path":"%s","parents":' "$(stat -c %a "$TASKGATE_PARENTS_FILE")" "$TASKGATE_PARENTS_FILE"
                  cat "$TASKGATE_PARENTS_FILE"; echo '}'
                else echo '"no parents"'; fi
                """#)
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let parent = try fixture.submit(#"{"payload":1}"#)
        let child = try fixture.submit(#"{"payload":2,"after":["\#(parent)"]}"#)
        try await eventually("the child to succeed") { try state(fixture, child) == "succeeded" }
        #expect(try fixture.task(parent)["result"] as? String == "no parents")
        let result = try #require(try fixture.task(child)["result"] as? [String: Any])
        #expect(result["mode"] as? String == "600")
        let parents = try #require(result["parents"] as? [String: [String: Any]])
        #expect(parents[parent]?["state"] as? String == "succeeded")
        #expect(parents[parent]?["result"] as? String == "no parents")
        let path = try #require(result["path"] as? String)
        #expect(!FileManager.default.fileExists(atPath: path), "the parents file is removed after the attempt")
    }

    @Test func sigtermPastTheGracePeriodPutsTheTaskBack() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let slow = try TaskgateProcess.worker(
            ns, exec: #"touch ""# + directory.path + #"/$TASKGATE_TASK_ID"; sleep 30"#,
            extra: ["--grace-period-seconds", "0.3"])
        defer { slow.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":"keep me"}"#)
        try await eventually("task to start") {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent(id).path)
        }
        slow.signal(SIGTERM)
        #expect(try await slow.waitForExit() == 0)
        let parked = try fixture.task(id)
        #expect(parked["state"] as? String == "pending")
        #expect(parked["retries"] as? Int == 0)
        #expect(try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array?.compactMap(\.string) == [id])
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)

        let fast = try TaskgateProcess.worker(ns, exec: "cat")
        defer { fast.stop() }
        try await eventually("task to succeed on the next worker") { try state(fixture, id) == "succeeded" }
        // `cat` echoes the payload, a JSON string: the result is that string, not its JSON text.
        #expect(try fixture.task(id)["result"] as? String == "keep me")
    }

    @Test func perAttemptTimeoutStopsTheCommand() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let pidFile = directory.appendingPathComponent("pid").path
        let worker = try TaskgateProcess.worker(ns, exec: #"echo $$ > "# + pidFile + "; exec sleep 30")
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1,"timeout_seconds":0.5,"max_retries":0}"#)
        try await eventually("task to be dead") { try state(fixture, id) == "dead" }
        #expect((try fixture.task(id)["last_error"] as? String)?.hasPrefix("timed out after 0.5 s") == true)
        let pid = try #require(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await eventually("the timed-out command to be gone") { kill(pid, 0) != 0 && errno == ESRCH }
    }

    @Test func aTimedOutCommandThatIgnoresSIGTERMIsKilled() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let pidFile = directory.appendingPathComponent("pid").path
        let worker = try TaskgateProcess.worker(
            ns, exec: "trap '' TERM; echo $$ > " + pidFile + "; while :; do sleep 0.05; done")
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":1,"timeout_seconds":0.3,"max_retries":0}"#)
        let pid = try await eventuallyValue("the command to start") {
            (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        try await eventually("task to be dead") { try state(fixture, id) == "dead" }
        #expect((try fixture.task(id)["last_error"] as? String)?.hasPrefix("timed out after 0.3 s") == true)
        try await eventually("the command to be killed despite ignoring SIGTERM") {
            kill(pid, 0) != 0 && errno == ESRCH
        }
    }
}

import Foundation
import TaskgateCore
import Testing

/// `taskgate worker --exec-persistent`: real worker processes running long-lived handler processes.
@Suite(.dedicatedThreads) struct PersistentProcessTests {
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func state(_ fixture: GatewayFixture, _ id: String) throws -> String? {
        try fixture.task(id)["state"] as? String
    }

    /// Writes a Python handler process to a scratch file and returns the command that runs it.
    private func script(_ source: String) throws -> (command: String, directory: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "taskgate-persistent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("handler.py")
        try source.write(to: path, atomically: true, encoding: .utf8)
        return ("python3 -u \(path.path) \(directory.path)", directory)
    }

    @Test(arguments: ["python3 examples/python_worker.py", "node examples/node_worker.js"])
    func theShippedExamplesRunRealTasks(command: String) async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let root = Self.repository.path
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--exec-persistent", "cd \(root) && exec \(command)"],
            extra: ["--concurrency", "4", "--processes", "2"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let ids = try (0..<20).map { try fixture.submit(#"{"payload":{"n":\#($0)},"type":"echo"}"#) }
        let failing = try fixture.submit(#"{"payload":{"fail":true},"max_retries":1}"#)
        try await eventually("every echo task to succeed") {
            try ids.allSatisfy { try state(fixture, $0) == "succeeded" }
        }
        for (n, id) in ids.enumerated() {
            #expect(try resultJSON(fixture.task(id)) == #"{"echo":{"n":\#(n)}}"#)
        }
        try await eventually("the failing task to be dead") { try state(fixture, failing) == "dead" }
        let dead = try fixture.task(failing)
        #expect(dead["retries"] as? Int == 1)
        #expect(dead["last_error"] as? String == "payload asked to fail")
    }

    /// The ten-line workers README shows follow the protocol too.
    @Test(arguments: [("python", "python3"), ("js", "node")])
    func theReadmeWorkersRunRealTasks(fence: String, interpreter: String) async throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let opening = "```\(fence)\n"
        let start = try #require(readme.range(of: opening))
        let end = try #require(readme.range(of: "\n```", range: start.upperBound..<readme.endIndex))
        let (command, directory) = try script(String(readme[start.upperBound..<end.lowerBound]))
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--exec-persistent", command.replacingOccurrences(of: "python3 -u", with: interpreter)])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        let ids = try (0..<5).map { try fixture.submit(#"{"payload":[\#($0)]}"#) }
        try await eventually("every task to succeed") { try ids.allSatisfy { try state(fixture, $0) == "succeeded" } }
        for (n, id) in ids.enumerated() {
            #expect(try resultJSON(fixture.task(id)) == #"{"echo":[\#(n)]}"#)
        }
    }

    @Test func aProcessThatCrashesMidTaskIsRestartedAndTheTaskRetried() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        // Exits in the middle of the first attempt of a "crash" task; answers everything else.
        let (command, directory) = try script(
            #"""
            import json, os, sys
            for line in sys.stdin:
                task = json.loads(line)
                if task["type"] == "crash" and task["attempt"] == 1:
                    print("about to crash on " + task["id"], file=sys.stderr, flush=True)
                    os._exit(7)
                print(json.dumps({"id": task["id"], "ok": True, "result": "pid %d" % os.getpid()}), flush=True)
            """#)
        let worker = try TaskgateProcess.worker(ns, handler: ["--exec-persistent", command])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        let before = try fixture.submit(#"{"payload":1}"#)
        try await eventually("the first task to succeed") { try state(fixture, before) == "succeeded" }
        let firstPid = try #require(fixture.task(before)["result"] as? String)
        let crashing = try fixture.submit(#"{"payload":2,"type":"crash"}"#)
        try await eventually("the crashing task to succeed on its retry") {
            try state(fixture, crashing) == "succeeded"
        }
        let task = try fixture.task(crashing)
        #expect(task["retries"] as? Int == 1)
        let error = try #require(task["last_error"] as? String)
        #expect(error.contains("exited with status 7 while running this task"), "\(error)")
        #expect(error.contains("about to crash on \(crashing)"), "\(error)")
        let restartedPid = try #require(task["result"] as? String)
        #expect(restartedPid != firstPid)
        // The next tasks go on in the new process.
        let after = try fixture.submit(#"{"payload":3}"#)
        try await eventually("a task after the crash to succeed") { try state(fixture, after) == "succeeded" }
        #expect(try fixture.task(after)["result"] as? String == restartedPid)
        // Its standard error went to the worker's log.
        #expect(worker.output.contains("about to crash on \(crashing)"))
    }

    @Test func aMalformedLineFailsOnlyItsTask() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        // One process, several tasks in flight: a "garble" task is answered with a broken line.
        let (command, directory) = try script(
            #"""
            import json, sys
            for line in sys.stdin:
                task = json.loads(line)
                if task["type"] == "garble":
                    print('{"id": "%s", "ok": tru' % task["id"], flush=True)
                else:
                    print(json.dumps({"id": task["id"], "ok": True, "result": task["payload"]}), flush=True)
            """#)
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--exec-persistent", command], extra: ["--concurrency", "8", "--processes", "1"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        var ids: [String] = []
        for n in 0..<6 { ids.append(try fixture.submit(#"{"payload":"ok \#(n)"}"#)) }
        let garbled = try fixture.submit(#"{"payload":"x","type":"garble","max_retries":0}"#)
        for n in 6..<12 { ids.append(try fixture.submit(#"{"payload":"ok \#(n)"}"#)) }
        try await eventually("the garbled task to be dead") { try state(fixture, garbled) == "dead" }
        let error = try #require(try fixture.task(garbled)["last_error"] as? String)
        #expect(error.hasPrefix("the persistent process wrote a malformed answer"), "\(error)")
        try await eventually("every other task to succeed") {
            try ids.allSatisfy { try state(fixture, $0) == "succeeded" }
        }
        for id in ids {
            let task = try fixture.task(id)
            #expect(task["retries"] as? Int == 0, "\(id) failed: \(task["last_error"] ?? "")")
            #expect(task["attempts"] as? Int == 1)
        }
    }

    @Test func aProcessThatHangsPastTheTimeoutFailsTheAttemptAndIsReplaced() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let (command, directory) = try script(
            #"""
            import json, os, sys, time
            for line in sys.stdin:
                task = json.loads(line)
                if task["type"] == "hang" and task["attempt"] == 1:
                    time.sleep(3600)
                print(json.dumps({"id": task["id"], "ok": True, "result": "pid %d" % os.getpid()}), flush=True)
            """#)
        let worker = try TaskgateProcess.worker(ns, handler: ["--exec-persistent", command])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        // The limit also covers the start of the replacement process for the retry: leave room for it.
        let hanging = try fixture.submit(#"{"payload":1,"type":"hang","timeout_seconds":8}"#)
        try await eventually("the hanging task to succeed on its retry") { try state(fixture, hanging) == "succeeded" }
        let task = try fixture.task(hanging)
        #expect(task["retries"] as? Int == 1)
        #expect((task["last_error"] as? String)?.hasPrefix("timed out after 8.0 s") == true)
        let next = try fixture.submit(#"{"payload":2}"#)
        try await eventually("the next task to succeed") { try state(fixture, next) == "succeeded" }
        #expect(try fixture.task(next)["retries"] as? Int == 0)
    }

    /// A process that runs each task on a thread of its own and stops one when its cancel line comes (when
    /// `answersCancels`), answering it `ok:false`; every answer names the process's pid.
    private func cancellableScript(answersCancels: Bool) throws -> (command: String, directory: URL) {
        try script(
            #"""
            import json, os, sys, threading
            ANSWERS = \#(answersCancels ? "True" : "False")
            lock = threading.Lock()
            stops = {}
            def say(answer):
                with lock:
                    print(json.dumps(answer), flush=True)
            def run(task, stop):
                if task["type"] == "hang":
                    # A mark the test awaits: the task is in this process, not only active in Redis.
                    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "hanging"), "w").close()
                    stop.wait()
                    say({"id": task["id"], "ok": False, "error": "stopped at pid %d" % os.getpid()})
                else:
                    say({"id": task["id"], "ok": True, "result": "pid %d" % os.getpid()})
            for line in sys.stdin:
                message = json.loads(line)
                if "cancel" in message:
                    if ANSWERS and message["cancel"] in stops:
                        stops.pop(message["cancel"]).set()
                    continue
                stops[message["id"]] = threading.Event()
                threading.Thread(target=run, args=(message, stops[message["id"]]), daemon=True).start()
            """#)
    }

    @Test(arguments: [true, false])
    func withCancelLinesACancelledTaskIsStoppedInItsProcessOrTheProcessIsReplaced(answers: Bool) async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let (command, directory) = try cancellableScript(answersCancels: answers)
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--exec-persistent", command, "--cancel-lines"], extra: ["--processes", "1"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }
        let first = try fixture.submit(#"{"payload":1,"type":"quick"}"#)
        try await eventually("a first task to succeed") { try state(fixture, first) == "succeeded" }
        let pid = try #require(try fixture.task(first)["result"] as? String)
        let hanging = try fixture.submit(#"{"payload":2,"type":"hang"}"#)
        try await eventually("the hanging task to start in the process") {
            try state(fixture, hanging) == "active"
                && FileManager.default.fileExists(atPath: directory.appendingPathComponent("hanging").path)
        }
        #expect(try fixture.client.post("/tasks/\(hanging)/cancel", json: "").status == 200)
        let next = try fixture.submit(#"{"payload":3,"type":"quick"}"#)
        try await eventually(timeout: 30, "the next task to succeed") { try state(fixture, next) == "succeeded" }
        #expect(try state(fixture, hanging) == "cancelled")
        let nextPid = try #require(try fixture.task(next)["result"] as? String)
        if answers {
            // It stopped the task when told and answered it: the same process goes on.
            #expect(nextPid == pid)
            try await eventually("the worker to note the answer") {
                worker.output.contains("persistent process answered a cancelled task")
            }
            #expect(!worker.output.contains("did not answer a cancelled task"))
        } else {
            // It never answered: after the grace period it was killed and another process took the next task.
            #expect(nextPid != pid)
            #expect(worker.output.contains("did not answer a cancelled task"))
        }
    }

    @Test func anErrorAnswerWithRetryAfterIsHonoured() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let (command, directory) = try script(
            #"""
            import json, sys
            for line in sys.stdin:
                task = json.loads(line)
                if task["attempt"] == 1:
                    print(json.dumps({"id": task["id"], "ok": False, "error": "quota", "retry_after_seconds": 30.5}), flush=True)
                else:
                    print(json.dumps({"id": task["id"], "ok": True, "result": {"done": True}}), flush=True)
            """#)
        let worker = try TaskgateProcess.worker(ns, handler: ["--exec-persistent", command])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        let id = try fixture.submit(#"{"payload":1}"#)
        let key = ns.keys.task(TaskID(id)!)
        try await eventually("the task to be retrying") { try state(fixture, id) == "retrying" }
        let runAt = try #require(ns.redis("HGET", key, "run_at").string.flatMap { Int($0) })
        let failedAt = try #require(ns.redis("HGET", key, "updated_at").string.flatMap { Int($0) })
        #expect(runAt - failedAt == 30_500)
        // Made due now (rather than waiting half a minute), the retry runs.
        _ = try ns.redis("ZADD", ns.keys.scheduled(.default), 0, id)
        try await eventually("the task to succeed") { try state(fixture, id) == "succeeded" }
        #expect(try resultJSON(fixture.task(id)) == #"{"done":true}"#)
        #expect(try fixture.task(id)["last_error"] as? String == "quota")
    }

    @Test func aCommandThatCannotStartFailsItsTasksAndTheWorkerGoesOn() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let worker = try TaskgateProcess.worker(ns, handler: ["--exec-persistent", "no-such-command-taskgate-test"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp() }

        let ids = try (0..<2).map { _ in try fixture.submit(#"{"payload":1,"max_retries":1}"#) }
        try await eventually("both tasks to be dead") { try ids.allSatisfy { try state(fixture, $0) == "dead" } }
        for id in ids {
            let error = try #require(try fixture.task(id)["last_error"] as? String)
            #expect(error.contains("exited with status 127"), "\(error)")
            #expect(error.contains("not found"), "\(error)")
        }
        #expect(worker.process.isRunning)
        #expect(worker.output.contains("restarting persistent process"))
    }

    @Test func anAnswerLineOverTheLimitFailsOnlyItsTask() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        // With --max-result-bytes 1000 an answer line may have 1000 + 64 KiB bytes; "flood" answers 100,000.
        let (command, directory) = try script(
            #"""
            import json, sys
            for line in sys.stdin:
                task = json.loads(line)
                result = "x" * 100000 if task["type"] == "flood" else task["payload"]
                print(json.dumps({"id": task["id"], "ok": True, "result": result}), flush=True)
            """#)
        let worker = try TaskgateProcess.worker(
            ns, handler: ["--exec-persistent", command],
            extra: ["--concurrency", "4", "--processes", "1", "--max-result-bytes", "1000"])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        let flood = try fixture.submit(#"{"payload":1,"type":"flood","max_retries":0}"#)
        let ids = try (0..<4).map { try fixture.submit(#"{"payload":"fine \#($0)"}"#) }
        try await eventually("the flooding task to be dead") { try state(fixture, flood) == "dead" }
        #expect(
            try fixture.task(flood)["last_error"] as? String
                == "the persistent process wrote an answer over 66536 bytes")
        try await eventually("the other tasks to succeed") {
            try ids.allSatisfy { try state(fixture, $0) == "succeeded" }
        }
        for (n, id) in ids.enumerated() {
            #expect(try fixture.task(id)["result"] as? String == "fine \(n)")
            #expect(try fixture.task(id)["retries"] as? Int == 0)
        }
    }

    @Test func aChildSeesItsParentsResultsInItsLine() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let (command, directory) = try script(
            #"""
            import json, sys
            for line in sys.stdin:
                task = json.loads(line)
                result = task["parents"] if "parents" in task else {"size": task["payload"]}
                print(json.dumps({"id": task["id"], "ok": True, "result": result}), flush=True)
            """#)
        let worker = try TaskgateProcess.worker(ns, handler: ["--exec-persistent", command])
        defer { worker.stop(); fixture.stop(); ns.cleanUp(); try? FileManager.default.removeItem(at: directory) }

        let (records, _) = try ns.store.storeWorkflow(
            [TaskSubmission(payload: .integer(640)), TaskSubmission(payload: .integer(0))],
            graph: TaskGraph([.init(ref: "resize"), .init(ref: "album", after: ["resize"])]), batch: nil,
            retentionMilliseconds: 60_000, workflowRetentionMilliseconds: 60_000)
        let parent = records[0].id.rawValue
        let child = records[1].id.rawValue
        // The worker's own drainer releases the child once the parent succeeded.
        try await eventually("the child to succeed") { try state(fixture, child) == "succeeded" }
        #expect(
            try resultJSON(fixture.task(child))
                == #"{"\#(parent)":{"error":null,"result":{"size":640},"state":"succeeded"}}"#)
    }
}

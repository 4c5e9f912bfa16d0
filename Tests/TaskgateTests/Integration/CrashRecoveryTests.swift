import Foundation
import TaskgateCore
import Testing

/// Worker processes that die or stall mid-task: leases run out, the task runs again, stale reports are refused.
@Suite(.dedicatedThreads) struct CrashRecoveryTests {
    /// Short lease timings so a test waits about a second for recovery instead of the default ten.
    private static let shortLease = ["--lease-seconds", "1", "--recovery-interval-seconds", "0.1"]

    private func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "taskgate-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    private func pid(in file: URL) throws -> Int32? {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func aTaskOfAWorkerKilledWithSIGKILLRunsAgainAsAFailedAttempt() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let pidFile = directory.appendingPathComponent("first.pid")
        // The first attempt hangs (its worker is killed under it); any later attempt succeeds at once.
        let handler =
            #"if [ "$TASKGATE_ATTEMPT" = 1 ]; then echo $$ > "# + pidFile.path
            + #"; exec sleep 30; fi; echo "attempt $TASKGATE_ATTEMPT""#
        let doomed = try TaskgateProcess.worker(ns, exec: handler, extra: Self.shortLease)
        defer { doomed.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":"survive","max_retries":2}"#)
        let orphan = try await eventuallyValue("the first attempt to start") { try pid(in: pidFile) }
        defer { kill(orphan, SIGKILL) }
        doomed.signal(SIGKILL)
        _ = try await doomed.waitForExit()
        // The dead worker's claim is still in Redis: active, leased, with nobody left to extend it.
        #expect(try fixture.task(id)["state"] as? String == "active")
        let taskID = try #require(TaskID(id))
        #expect(try ns.leaseDeadline(taskID) != nil)

        let rescuer = try TaskgateProcess.worker(ns, exec: handler, extra: Self.shortLease)
        defer { rescuer.stop() }
        try await eventually("the task to succeed on the other worker") {
            try fixture.task(id)["state"] as? String == "succeeded"
        }
        let task = try fixture.task(id)
        #expect(task["result"] as? String == "attempt 2\n")
        #expect(task["attempts"] as? Int == 2)
        #expect(task["retries"] as? Int == 1)
        #expect((task["last_error"] as? String)?.contains("worker lost: attempt 1") == true)
        #expect(try ns.redis("LLEN", ns.keys.active(.default)).int == 0)
        #expect(try ns.redis("ZCARD", ns.keys.leases(.default)).int == 0)
        #expect(rescuer.output.contains("recovered tasks of lost workers"))
    }

    @Test func aStalledWorkersLateReportIsRefusedAndTheNewAttemptStands() async throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        let directory = try scratch()
        let started = directory.appendingPathComponent("first-started")
        let release = directory.appendingPathComponent("release")
        // Attempt 1 waits for the test's signal and then reports "stale"; later attempts report "fresh".
        let handler =
            #"if [ "$TASKGATE_ATTEMPT" = 1 ]; then touch "# + started.path + "; while [ ! -f " + release.path
            + #" ]; do sleep 0.02; done; echo stale; else echo fresh; fi"#
        let stalled = try TaskgateProcess.worker(ns, exec: handler, extra: Self.shortLease)
        defer { stalled.stop(); fixture.stop(); ns.cleanUp() }

        let id = try fixture.submit(#"{"payload":null}"#)
        try await eventually("the first attempt to start") { FileManager.default.fileExists(atPath: started.path) }
        // Freeze the worker: no heartbeats, so its lease runs out while its command still runs.
        stalled.signal(SIGSTOP)
        let other = try TaskgateProcess.worker(ns, exec: handler, extra: Self.shortLease)
        defer { other.stop() }
        try await eventually("the second attempt to succeed") {
            try fixture.task(id)["state"] as? String == "succeeded"
        }
        let settled = try fixture.task(id)
        #expect(settled["result"] as? String == "fresh\n")

        // Thaw it and let its command finish: its report must be refused, the record unchanged.
        _ = FileManager.default.createFile(atPath: release.path, contents: nil)
        stalled.signal(SIGCONT)
        try await eventually("the stalled worker to learn it lost the lease") {
            stalled.output.contains("lease lost")
        }
        let after = try fixture.task(id)
        #expect(after["result"] as? String == "fresh\n")
        #expect(after["attempts"] as? Int == 2)
        #expect(after["retries"] as? Int == 1)
        #expect(after["updated_at"] as? String == settled["updated_at"] as? String)
        stalled.signal(SIGTERM)
        #expect(try await stalled.waitForExit() == 0)
    }
}

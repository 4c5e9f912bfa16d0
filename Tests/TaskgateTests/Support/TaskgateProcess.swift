import Foundation

/// The `taskgate` binary run as a child process (a real worker or gateway, as users run them).
final class TaskgateProcess: Sendable {
    /// The running binary (started with `posix_spawn`: see ``SpawnedProcess`` for why not Foundation's `Process`).
    let process: SpawnedProcess
    let log: URL

    /// Starts `taskgate` with `arguments`; with `descriptorLimit`, under that open-file limit (through `prlimit`,
    /// so the test process's own limit is never changed).
    init(
        _ arguments: [String], environment: [String: String] = [:], descriptorLimit: (soft: Int, hard: Int)? = nil
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw TestFailure("build the binary first (swift build): \(Self.binary.path) is missing")
        }
        log = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TASKGATE_") }
        env.merge(environment) { $1 }
        if let descriptorLimit {
            process = try SpawnedProcess(
                "/usr/bin/prlimit",
                ["--nofile=\(descriptorLimit.soft):\(descriptorLimit.hard)", Self.binary.path] + arguments,
                environment: env, outputPath: log.path)
        } else {
            process = try SpawnedProcess(Self.binary.path, arguments, environment: env, outputPath: log.path)
        }
    }

    /// A worker on `namespace` running `command`, with short timings for tests; returns once it has started.
    static func worker(
        _ namespace: TestNamespace, exec command: String, extra: [String] = []
    ) throws -> TaskgateProcess {
        let worker = try TaskgateProcess(
            [
                "worker", "--redis-url", namespace.server.url, "--key-prefix", namespace.keys.prefix, "--exec", command,
                "--backoff-base-seconds", "0.05", "--backoff-max-seconds", "0.2", "--log-level", "debug",
            ] + extra)
        worker.awaitStarted()
        return worker
    }

    /// A worker on `namespace` whose handler flags are `handler` (`["--http-target", URL]`, say).
    static func worker(
        _ namespace: TestNamespace, handler: [String], extra: [String] = [], environment: [String: String] = [:]
    ) throws -> TaskgateProcess {
        let worker = try TaskgateProcess(
            ["worker", "--redis-url", namespace.server.url, "--key-prefix", namespace.keys.prefix] + handler
                + ["--backoff-base-seconds", "0.05", "--backoff-max-seconds", "0.2", "--log-level", "debug"] + extra,
            environment: environment)
        worker.awaitStarted()
        return worker
    }

    /// Waits until the process logs `line` (a worker's "worker started"), exits, or 30 s pass, whichever is first,
    /// so that what a test waits for next counts from a running worker, not from a process still starting on a
    /// busy machine. Never fails: a worker that is meant not to start is the test's to check. Runs on the test's
    /// own thread (``TestThreadPool``).
    func awaitStarted(_ line: String = "worker started", timeout: Double = 30) {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(timeout * 1000))
        while clock.now < deadline, process.isRunning, !output.contains(line) { usleep(5_000) }
    }

    var pid: Int32 { process.pid }

    func signal(_ signal: Int32) {
        kill(process.pid, signal)
    }

    /// Waits for the process to exit (up to `timeout` seconds) and returns its exit status.
    func waitForExit(timeout: Double = 60) async throws -> Int32 {
        try await eventually(timeout: timeout, "taskgate pid \(pid) to exit") { !process.isRunning }
        return process.terminationStatus ?? -1
    }

    /// Kills the process if it still runs (test cleanup).
    func stop() {
        if process.isRunning {
            kill(process.pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// `<dir of the test binary>/taskgate`, or `TASKGATE_BIN`.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["TASKGATE_BIN"] { return URL(fileURLWithPath: path) }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the tests run from <bin>/taskgatePackageTests.xctest; step out of a bundle if there is one.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "Contents"
            || directory.lastPathComponent == "MacOS"
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("taskgate")
    }
}

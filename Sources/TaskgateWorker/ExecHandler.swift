import Glibc
import Subprocess
import TaskgateCore

/// Runs an operator's shell command for each task: the payload on standard input, never on the command line.
///
/// The command runs as `/bin/sh -c CMD` in a session of its own, with `TASKGATE_TASK_ID`, `TASKGATE_TASK_TYPE`,
/// `TASKGATE_QUEUE`, `TASKGATE_ATTEMPT` and `TASKGATE_RETRIES` in its environment, and for a task with parents
/// (`after`) `TASKGATE_PARENTS_FILE`: a file (mode 0600, removed after the attempt) holding how they ended,
/// `{"<id>": {"state", "result", "error"}, ...}`. Exit status 0 is success
/// and standard output (up to ``maxResultBytes``) becomes the result: the JSON value it holds when it is one
/// JSON text, else the string it is; anything else is a failure whose
/// message ends with the tail of standard error. When the attempt is cancelled (timeout or shutdown) the
/// whole process group gets SIGTERM, then SIGKILL after ``killGracePeriod``.
public struct ExecHandler: TaskHandler {
    /// The shell command.
    public let command: String
    /// The most standard output kept as the result.
    public let maxResultBytes: Int
    /// The most standard error kept (its tail) in a failure message.
    public let maxErrorBytes: Int
    /// How long a cancelled command has between SIGTERM and SIGKILL.
    public let killGracePeriod: Duration
    /// What the command's environment starts from: the worker's, without Taskgate's settings and secrets.
    public let environment: ChildEnvironment

    /// Creates a handler for `command`.
    public init(
        command: String, maxResultBytes: Int = 64 * 1024, maxErrorBytes: Int = 4 * 1024,
        killGracePeriod: Duration = .seconds(5), environment: ChildEnvironment = ChildEnvironment()
    ) {
        self.environment = environment
        self.command = command
        self.maxResultBytes = maxResultBytes
        self.maxErrorBytes = maxErrorBytes
        self.killGracePeriod = killGracePeriod
    }

    public func handle(_ task: TaskContext) async throws -> TaskResult {
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: killGracePeriod)]
        var settings = [
            "TASKGATE_TASK_ID": task.id.rawValue,
            "TASKGATE_TASK_TYPE": task.type ?? "",
            "TASKGATE_QUEUE": task.queue.rawValue,
            "TASKGATE_ATTEMPT": String(task.attempt),
            "TASKGATE_RETRIES": String(task.retries),
        ]
        var parentsFile: String?
        defer { if let parentsFile { unlink(parentsFile) } }
        if task.hasParents {
            let path = try Self.writeTemporary(Array(task.parentsJSON.utf8))
            parentsFile = path
            settings["TASKGATE_PARENTS_FILE"] = path
        }
        let variables = self.environment.with(settings)
        // NAME=value entries as C strings: the raw form wants each one NUL-terminated.
        let environment = Environment.custom(variables.map { Array("\($0.key)=\($0.value)".utf8) + [0] })
        let payload = Array(task.payload.utf8)
        let maxResult = maxResultBytes
        let maxError = maxErrorBytes
        let execution = try await run(
            .path("/bin/sh"), arguments: ["-c", command], environment: environment, platformOptions: options,
            input: .inputWriter, output: .sequence, error: .sequence
        ) { execution -> (output: [UInt8], error: [UInt8]) in
            async let fed: Void = Self.feed(payload, to: execution.standardInputWriter)
            async let output = Self.head(of: execution.standardOutput, limit: maxResult)
            async let error = Self.tail(of: execution.standardError, limit: maxError)
            _ = await fed
            return (try await output, try await error)
        }
        try Task.checkCancellation()
        let (output, errorOutput) = execution.closureResult
        switch execution.terminationStatus {
        case .exited(0):
            return TaskResult.output(output)
        case .exited(let code):
            throw TaskFailure(.failed, Self.message("exit status \(code)", errorOutput))
        case .signaled(let signal):
            throw TaskFailure(.failed, Self.message("killed by signal \(signal)", errorOutput))
        }
    }

    /// Writes `bytes` to a new file of its own (mode 0600) under `TMPDIR` (or `/tmp`) and answers its path.
    private static func writeTemporary(_ bytes: [UInt8]) throws -> String {
        let directory = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory + "/taskgate-parents-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw TaskFailure(.failed, "could not create the parents file in \(directory): errno \(errno)")
        }
        defer { close(descriptor) }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                unlink(path)
                throw TaskFailure(.failed, "could not write the parents file \(path): errno \(errno)")
            }
            written += count
        }
        return path
    }

    private static func message(_ what: String, _ errorOutput: [UInt8]) -> String {
        let text = String(decoding: errorOutput, as: UTF8.self)
        var trimmed = Substring(text)
        while let last = trimmed.last, last.isWhitespace { trimmed = trimmed.dropLast() }
        return trimmed.isEmpty ? what : "\(what): \(trimmed)"
    }

    /// Writes the payload and closes standard input; a command that exits without reading it is fine.
    private static func feed(_ payload: [UInt8], to writer: StandardInputWriter) async {
        if !payload.isEmpty { _ = try? await writer.write(payload) }
        try? await writer.finish()
    }

    /// Reads the whole stream (so the child never blocks on a full pipe) and keeps its first `limit` bytes.
    private static func head(of stream: SubprocessOutputSequence, limit: Int) async throws -> [UInt8] {
        var kept: [UInt8] = []
        for try await buffer in stream where kept.count < limit {
            buffer.withUnsafeBytes { bytes in kept.append(contentsOf: bytes.prefix(limit - kept.count)) }
        }
        return kept
    }

    /// Reads the whole stream and keeps its last `limit` bytes.
    private static func tail(of stream: SubprocessOutputSequence, limit: Int) async throws -> [UInt8] {
        var kept: [UInt8] = []
        for try await buffer in stream {
            buffer.withUnsafeBytes { bytes in kept.append(contentsOf: bytes) }
            if kept.count > 2 * limit { kept.removeFirst(kept.count - limit) }
        }
        return Array(kept.suffix(limit))
    }
}

import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TaskgateCore
import TaskgateRedis
import TaskgateWorker

/// `taskgate-bench-worker`: a worker whose handler does nothing, registered through the library API.
///
/// `scripts/bench` uses it to measure what the worker machinery itself costs per task (claim, lease,
/// acknowledgement), and, with `--record-starts`, when each handler started, for end-to-end latency.
@main
struct BenchWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskgate-bench-worker",
        abstract: "Run tasks with an in-process handler that does nothing (for scripts/bench).")

    @Option(help: "Redis URL.")
    var redisURL = "redis://127.0.0.1:6379/0"
    @Option(help: "First part of every Redis key.")
    var keyPrefix = "taskgate"
    @Option(help: "Queue to take tasks from.")
    var queue = "default"
    @Option(help: "Tasks run at once.")
    var concurrency = 64
    @Option(help: "Append `<task id> <unix nanoseconds>` to this file as each handler starts.")
    var recordStarts: String?

    func run() async throws {
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "taskgate-bench-worker")
        guard let queue = QueueName(queue), let keys = KeySpace(prefix: keyPrefix) else {
            throw ValidationError("bad queue or key prefix")
        }
        let recorder = try recordStarts.map(StartRecorder.init(path:))
        var handlers = HandlerRegistry()
        handlers.setFallback(
            ClosureTaskHandler { task in
                recorder?.record(task.id)
                return .null
            })
        let configuration = WorkerConfiguration(
            redis: try RedisConfiguration(url: redisURL), keys: keys, queue: queue, concurrency: concurrency)
        let worker = Worker(configuration: configuration, handlers: handlers, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        recorder?.flush()
    }
}

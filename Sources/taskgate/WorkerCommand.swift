import ArgumentParser
import Logging
import TaskgateCore
import TaskgateWorker

/// `taskgate worker`: runs tasks from one queue with a shell command.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run tasks from a queue: CMD gets the payload on stdin; exit 0 is success, stdout the result.")

    @Option(help: "Queue to take tasks from. [TASKGATE_QUEUE, default default]")
    var queue: String?
    @Option(help: "Tasks run at once. [TASKGATE_CONCURRENCY, default 1]")
    var concurrency: Int?
    @Option(name: .customLong("exec"), help: "Shell command run for each task through /bin/sh -c. [TASKGATE_EXEC]")
    var command: String?
    @Option(help: "Seconds finished tasks are kept before they expire. [TASKGATE_RETENTION_SECONDS, default 86400]")
    var retentionSeconds: Double?
    @Option(
        help:
            "Backoff before the first retry, in seconds; doubles each retry. [TASKGATE_BACKOFF_BASE_SECONDS, default 2]"
    )
    var backoffBaseSeconds: Double?
    @Option(help: "Longest backoff in seconds. [TASKGATE_BACKOFF_MAX_SECONDS, default 3600]")
    var backoffMaxSeconds: Double?
    @Option(
        help:
            "Seconds running tasks get to finish after SIGTERM before they are put back. [TASKGATE_GRACE_PERIOD_SECONDS, default 30]"
    )
    var gracePeriodSeconds: Double?
    @Option(help: "Most bytes of standard output kept as the result. [TASKGATE_MAX_RESULT_BYTES, default 65536]")
    var maxResultBytes: Int?
    @Option(
        help:
            "Seconds a claimed task stays held without a heartbeat; a dead worker's task runs again after about this long. [TASKGATE_LEASE_SECONDS, default 10]"
    )
    var leaseSeconds: Double?
    @Option(
        help:
            "Seconds between looks for expired leases and unleased claims. [TASKGATE_RECOVERY_INTERVAL_SECONDS, default 1]"
    )
    var recoveryIntervalSeconds: Double?
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = try common.bootstrap()
        guard let command = command ?? Settings.string("TASKGATE_EXEC") else {
            throw ValidationError("the worker needs a handler: --exec 'CMD' or TASKGATE_EXEC")
        }
        let queueName = Settings.string(queue, "TASKGATE_QUEUE", default: "default")
        guard let queue = QueueName(queueName) else {
            throw ValidationError("queue must match [A-Za-z0-9._-]{1,64}, got \(queueName)")
        }
        let base = try Settings.double(backoffBaseSeconds, "TASKGATE_BACKOFF_BASE_SECONDS", default: 2, minimum: 0)
        let maxBackoff = try Settings.double(
            backoffMaxSeconds, "TASKGATE_BACKOFF_MAX_SECONDS", default: 3600, minimum: 0)
        let retention = try Settings.double(
            retentionSeconds, "TASKGATE_RETENTION_SECONDS", default: 86_400, minimum: 0.001)
        let grace = try Settings.double(gracePeriodSeconds, "TASKGATE_GRACE_PERIOD_SECONDS", default: 30, minimum: 0)
        let lease = try Settings.double(leaseSeconds, "TASKGATE_LEASE_SECONDS", default: 10, minimum: 0.1)
        let recoveryInterval = try Settings.double(
            recoveryIntervalSeconds, "TASKGATE_RECOVERY_INTERVAL_SECONDS", default: 1, minimum: 0.01)
        let configuration = WorkerConfiguration(
            redis: try common.redis(),
            keys: try common.keys(),
            queue: queue,
            concurrency: try Settings.int(concurrency, "TASKGATE_CONCURRENCY", default: 1, range: 1...1024),
            retryPolicy: .exponentialJitter(
                baseMilliseconds: Int(base * 1000), maxMilliseconds: Int(maxBackoff * 1000)),
            retentionMilliseconds: Int(retention * 1000),
            gracePeriod: .milliseconds(Int(grace * 1000)),
            leaseTiming: LeaseTiming(
                leaseMilliseconds: Int(lease * 1000), recoveryIntervalMilliseconds: Int(recoveryInterval * 1000)))
        let handler = ExecHandler(
            command: command,
            maxResultBytes: try Settings.int(
                maxResultBytes, "TASKGATE_MAX_RESULT_BYTES", default: 64 * 1024, range: 0...(16 << 20)))
        let worker = Worker(configuration: configuration, handlers: HandlerRegistry(fallback: handler), logger: logger)
        try await common.run(worker, logger: logger)
    }
}

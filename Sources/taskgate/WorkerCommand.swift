import ArgumentParser
import Foundation
import Logging
import TaskgateCore
import TaskgateMetrics
import TaskgateWorker

/// `taskgate worker`: runs tasks from one queue or several (by weight or priority) with a shell command, persistent processes or an HTTP endpoint.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run tasks from a queue with --exec CMD, --exec-persistent CMD or --http-target URL.",
        discussion:
            "Every worker also delivers the completion callbacks (callback_url) of its queue's tasks; "
            + "--callbacks-only runs a worker that does nothing else (for queues served through the pull API).")

    @Option(
        help: ArgumentHelp(
            "Queue to take tasks from, as NAME or NAME=WEIGHT (1-1000); repeatable: several queues share the slots by weight.",
            discussion: "[TASKGATE_QUEUE, comma-separated; default default]"))
    var queue: [String] = []
    @Flag(
        help:
            "Serve the --queue queues in the order given: a queue's tasks only while those before it are empty or held. [TASKGATE_STRICT_PRIORITY=1]"
    )
    var strictPriority = false
    @Option(help: "Tasks run at once. [TASKGATE_CONCURRENCY, default 1]")
    var concurrency: Int?
    @Option(name: .customLong("exec"), help: "Shell command run for each task through /bin/sh -c. [TASKGATE_EXEC]")
    var command: String?
    @Option(
        name: .customLong("exec-persistent"),
        help:
            "Command started once per process and fed one JSON line per task on stdin; answers one JSON line per task on stdout. [TASKGATE_EXEC_PERSISTENT]"
    )
    var persistentCommand: String?
    @Option(help: "Persistent processes to run, at most --concurrency. [TASKGATE_PROCESSES, default --concurrency]")
    var processes: Int?
    @Flag(
        help:
            "The persistent processes understand cancel lines: a stopped task's process gets {\"cancel\":\"<id>\"} and is replaced only if it has not answered that task within 5 s (without it, the process is replaced at once). [TASKGATE_CANCEL_LINES=1]"
    )
    var cancelLines = false
    @Option(
        name: .customLong("http-target"),
        help:
            "POST each task's payload to URL; TYPE=URL for one task type; repeatable. [TASKGATE_HTTP_TARGET, comma-separated]"
    )
    var httpTargets: [String] = []
    @Option(
        help:
            "File of secrets (whsec_<base64> or text; one per line, several for rotation) signing HTTP pushes as Standard Webhooks do. [TASKGATE_SIGNING_SECRET_FILE, or TASKGATE_SIGNING_SECRET]"
    )
    var signingSecretFile: String?
    @Option(
        help:
            "Seconds an attempt may run when its task has no timeout_seconds. [TASKGATE_TIMEOUT_SECONDS, default 300 for --http-target and --exec-persistent, none for --exec]"
    )
    var timeoutSeconds: Double?
    @Option(help: "Seconds finished tasks are kept before they expire. [TASKGATE_RETENTION_SECONDS, default 86400]")
    var retentionSeconds: Double?
    @Option(
        help:
            "Seconds a waiting task revived by a requeued parent waits again. [TASKGATE_WORKFLOW_RETENTION_SECONDS, default 604800 (7 days)]"
    )
    var workflowRetentionSeconds: Double?
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
    @Option(
        help: ArgumentHelp(
            "TASKGATE_* variables a handler's process gets anyway (repeatable, or comma-separated); it gets none of the others, which hold the worker's settings and secrets.",
            discussion: "[TASKGATE_PASS_ENV]"))
    var passEnv: [String] = []
    @Flag(help: "Deliver the queue's completion callbacks only; run no tasks.")
    var callbacksOnly = false
    @Flag(
        inversion: .prefixedNo,
        help:
            "Fire due schedules too (any number of workers may: each tick fires once). [TASKGATE_SCHEDULES=0 turns it off]"
    )
    var schedules = true
    @Option(
        help:
            "How long this worker's claim on schedules it fires lasts before another worker may take them over, 1-300 s. [TASKGATE_SCHEDULE_CLAIM_SECONDS, default 30]"
    )
    var scheduleClaimSeconds: Double?
    @Option(
        help: ArgumentHelp(
            "Hosts a callback_url may name (checked again before every delivery): host names, .suffixes, IP addresses, CIDR blocks; repeatable.",
            discussion: "[TASKGATE_CALLBACK_ALLOW; unset, no callback is delivered: each is dead-lettered]"))
    var callbackAllow: [String] = []
    @Option(
        help:
            "File of secrets (whsec_<base64> or text; one per line, several for rotation) signing completion callbacks. [TASKGATE_WEBHOOK_SECRET_FILE, or TASKGATE_WEBHOOK_SECRET]"
    )
    var webhookSecretFile: String?
    @Option(
        help:
            "Seconds between callback tries, comma-separated; a delivery gets one try more than delays. [TASKGATE_CALLBACK_RETRY_DELAYS, default 5,30,120,600,1800,3600,10800,21600,36000]"
    )
    var callbackRetryDelays: String?
    @Option(help: "Seconds one callback try may take. [TASKGATE_CALLBACK_TIMEOUT_SECONDS, default 10]")
    var callbackTimeoutSeconds: Double?
    @Option(help: "Callback deliveries under way at once. [TASKGATE_CALLBACK_CONCURRENCY, default 16]")
    var callbackConcurrency: Int?
    @Option(
        help:
            "Serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port, logged). [TASKGATE_METRICS_PORT; unset, none]"
    )
    var metricsPort: Int?
    @Option(
        help:
            "Address the metrics port listens on; it needs no token, so it stays on loopback unless told. [TASKGATE_METRICS_HOST, default 127.0.0.1]"
    )
    var metricsHost: String?
    @OptionGroup var common: CommonOptions
    @OptionGroup var durability: DurabilityOptions

    func run() async throws {
        let logger = try common.bootstrap()
        let kind = try callbacksOnly ? nil : handlerKind()
        let queues = try weightedQueues()
        let queue = queues[0].name
        let base = try Settings.double(backoffBaseSeconds, "TASKGATE_BACKOFF_BASE_SECONDS", default: 2, minimum: 0)
        let maxBackoff = try Settings.double(
            backoffMaxSeconds, "TASKGATE_BACKOFF_MAX_SECONDS", default: 3600, minimum: 0)
        let retention = try Settings.double(
            retentionSeconds, "TASKGATE_RETENTION_SECONDS", default: 86_400, minimum: 0.001)
        let grace = try Settings.double(gracePeriodSeconds, "TASKGATE_GRACE_PERIOD_SECONDS", default: 30, minimum: 0)
        let lease = try Settings.double(leaseSeconds, "TASKGATE_LEASE_SECONDS", default: 10, minimum: 0.1)
        let scheduleClaim = min(
            300, try Settings.double(scheduleClaimSeconds, "TASKGATE_SCHEDULE_CLAIM_SECONDS", default: 30, minimum: 1))
        let recoveryInterval = try Settings.double(
            recoveryIntervalSeconds, "TASKGATE_RECOVERY_INTERVAL_SECONDS", default: 1, minimum: 0.01)
        let concurrency = try Settings.int(concurrency, "TASKGATE_CONCURRENCY", default: 1, range: 1...1024)
        let maxResult = try Settings.int(
            maxResultBytes, "TASKGATE_MAX_RESULT_BYTES", default: 64 * 1024, range: 0...(16 << 20))
        let redis = try durability.redis(common)
        try durability.check(redis, logger: logger)
        // Bound before anything that holds an HTTP client is made: a port that cannot be served is a clear error.
        let metrics = WorkerMetrics(queues: queues.map(\.name), slots: concurrency)
        let metricsServer = try startMetrics(metrics, logger: logger)
        defer { metricsServer?.stop() }
        let deliverer = CallbackDeliverer(
            configuration: try callbackConfiguration(queues: queues.map(\.name), retentionSeconds: retention),
            logger: logger)
        var defaultTimeout: Double?
        switch kind {
        case nil:
            defaultTimeout = nil
        case .exec?:
            defaultTimeout = try Settings.optionalDouble(timeoutSeconds, "TASKGATE_TIMEOUT_SECONDS", minimum: 0.001)
        default:
            defaultTimeout = try Settings.double(
                timeoutSeconds, "TASKGATE_TIMEOUT_SECONDS", default: 300, minimum: 0.001)
        }
        var configuration = WorkerConfiguration(
            redis: redis,
            keys: try common.keys(),
            queues: queues,
            strictPriority: strictPriority || Settings.string("TASKGATE_STRICT_PRIORITY") == "1",
            concurrency: concurrency,
            retryPolicy: .exponentialJitter(
                baseMilliseconds: Int(base * 1000), maxMilliseconds: Int(maxBackoff * 1000)),
            retentionMilliseconds: Int(retention * 1000),
            gracePeriod: .milliseconds(Int(grace * 1000)),
            leaseTiming: LeaseTiming(
                leaseMilliseconds: Int(lease * 1000), recoveryIntervalMilliseconds: Int(recoveryInterval * 1000)),
            defaultTimeoutMilliseconds: defaultTimeout.map { Int($0 * 1000) },
            firesSchedules: schedules && Settings.string("TASKGATE_SCHEDULES") != "0",
            scheduleClaimMilliseconds: Int(scheduleClaim * 1000))
        configuration.workflowRetentionMilliseconds = Int(
            try Settings.double(
                workflowRetentionSeconds, "TASKGATE_WORKFLOW_RETENTION_SECONDS", default: 604_800, minimum: 1) * 1000)
        switch kind {
        case nil:
            try await common.run([deliverer], logger: logger)
        case .exec(let command):
            try await run(
                configuration,
                ExecHandler(command: command, maxResultBytes: maxResult, environment: childEnvironment()), deliverer,
                metrics: metrics,
                logger: logger)
        case .persistent(let command):
            let count = try Settings.int(processes, "TASKGATE_PROCESSES", default: concurrency, range: 1...1024)
            guard count <= concurrency else {
                throw ValidationError("--processes (\(count)) cannot exceed --concurrency (\(concurrency))")
            }
            let pool = PersistentProcessPool(
                command: command, processes: count, queue: queue, maxResultBytes: maxResult,
                cancelLines: cancelLines || Settings.string("TASKGATE_CANCEL_LINES") == "1",
                environment: childEnvironment(), logger: logger)
            try await run(configuration, pool, deliverer, metrics: metrics, logger: logger) { await pool.shutdown() }
        case .http(let targets):
            let handler = HTTPTargetHandler(
                targets: targets, signer: try signer(), connectionsPerHost: concurrency, maxResultBytes: maxResult)
            try await run(configuration, handler, deliverer, metrics: metrics, logger: logger) {
                await handler.shutdown()
            }
        }
    }

    /// The environment of a handler's processes: the worker's, less its `TASKGATE_*` settings but `--pass-env`.
    private func childEnvironment() -> ChildEnvironment {
        ChildEnvironment(passed: Set(Settings.list(passEnv, "TASKGATE_PASS_ENV") ?? []))
    }

    /// Runs a worker with `handler` for every task, and `deliverer` beside it, until SIGTERM or SIGINT, then
    /// `shutdown` (also on failure).
    private func run(
        _ configuration: WorkerConfiguration, _ handler: some TaskHandler, _ deliverer: CallbackDeliverer,
        metrics: WorkerMetrics, logger: Logger, shutdown: @Sendable () async -> Void = {}
    ) async throws {
        let worker = Worker(
            configuration: configuration, handlers: HandlerRegistry(fallback: handler), metrics: metrics, logger: logger
        )
        do {
            try await common.run([worker, deliverer], logger: logger)
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }

    /// The queues from `--queue` (or `TASKGATE_QUEUE`), each `NAME` or `NAME=WEIGHT`; `default` when none.
    private func weightedQueues() throws -> [WeightedQueue] {
        var specifications = queue
        if specifications.isEmpty {
            specifications = Settings.string(nil, "TASKGATE_QUEUE", default: "default").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        var queues: [WeightedQueue] = []
        for specification in specifications {
            guard let parsed = WeightedQueue(specification: specification) else {
                throw ValidationError(
                    "queue must match [A-Za-z0-9._-]{1,64}, with =WEIGHT (1-1000) after it or not, got \(specification)"
                )
            }
            guard !queues.contains(where: { $0.name == parsed.name }) else {
                throw ValidationError("queue \(parsed.name) is given twice")
            }
            queues.append(parsed)
        }
        guard !queues.isEmpty else { throw ValidationError("give at least one --queue") }
        return queues
    }

    /// Starts the metrics server when `--metrics-port` (or `TASKGATE_METRICS_PORT`) asks for one.
    private func startMetrics(_ metrics: WorkerMetrics, logger: Logger) throws -> MetricsServer? {
        var port = metricsPort
        if port == nil, let text = Settings.string("TASKGATE_METRICS_PORT") {
            guard let value = Int(text) else {
                throw ValidationError("TASKGATE_METRICS_PORT must be a port, got \(text)")
            }
            port = value
        }
        guard let port else { return nil }
        guard (0...65535).contains(port) else { throw ValidationError("--metrics-port must be 0-65535, got \(port)") }
        let host = Settings.string(metricsHost, "TASKGATE_METRICS_HOST", default: "127.0.0.1")
        let server = MetricsServer(host: host, port: port, exposition: metrics.exposition, logger: logger)
        do {
            try server.start()
        } catch {
            throw ValidationError("cannot serve metrics on \(host):\(port): \(error)")
        }
        logger.info("serving metrics", metadata: ["url": "http://\(host):\(server.port)/metrics"])
        return server
    }

    /// How tasks are run.
    private enum HandlerKind {
        case exec(String)
        case persistent(String)
        case http(HTTPTargets)
    }

    /// The one handler kind the flags (or the environment) name.
    private func handlerKind() throws -> HandlerKind {
        let exec = command ?? Settings.string("TASKGATE_EXEC")
        let persistent = persistentCommand ?? Settings.string("TASKGATE_EXEC_PERSISTENT")
        var targets = httpTargets
        if targets.isEmpty, let list = Settings.string("TASKGATE_HTTP_TARGET") {
            targets = list.split(separator: ",").map(String.init)
        }
        let given = [exec != nil, persistent != nil, !targets.isEmpty].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError(
                given == 0
                    ? "the worker needs a handler: --exec 'CMD', --exec-persistent 'CMD' or --http-target URL"
                    : "give one of --exec, --exec-persistent and --http-target, not several")
        }
        if let exec { return .exec(exec) }
        if let persistent { return .persistent(persistent) }
        do {
            return .http(try HTTPTargets(specifications: targets))
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// How this worker delivers its queue's completion callbacks.
    private func callbackConfiguration(queues: [QueueName], retentionSeconds: Double) throws -> CallbackConfiguration {
        var delays = CallbackConfiguration.standardRetryDelaysMilliseconds
        if let text = callbackRetryDelays ?? Settings.string("TASKGATE_CALLBACK_RETRY_DELAYS") {
            let parsed = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parsed.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }) else {
                throw ValidationError("callback retry delays must be seconds separated by commas, got \(text)")
            }
            delays = parsed.map { Int(($0! * 1000).rounded()) }
        }
        return CallbackConfiguration(
            redis: try common.redis(), keys: try common.keys(), queues: queues,
            allow: try Settings.callbackAllow(callbackAllow),
            signer: try signer(file: webhookSecretFile, "TASKGATE_WEBHOOK_SECRET"),
            retryDelaysMilliseconds: delays,
            timeoutMilliseconds: Int(
                try Settings.double(
                    callbackTimeoutSeconds, "TASKGATE_CALLBACK_TIMEOUT_SECONDS", default: 10, minimum: 0.001) * 1000),
            concurrency: try Settings.int(
                callbackConcurrency, "TASKGATE_CALLBACK_CONCURRENCY", default: 16, range: 1...1024),
            retentionMilliseconds: Int(retentionSeconds * 1000))
    }

    /// The signer of HTTP pushes, from the secret file or `TASKGATE_SIGNING_SECRET`; `nil` when neither is set.
    private func signer() throws -> WebhookSigner? {
        try signer(file: signingSecretFile, "TASKGATE_SIGNING_SECRET")
    }

    /// A signer from `file` (else `<variable>_FILE`), else from `variable`; `nil` when none is set.
    private func signer(file flag: String?, _ variable: String) throws -> WebhookSigner? {
        var list = Settings.string(variable)
        if let file = flag ?? Settings.string(variable + "_FILE") {
            guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read the signing secret file \(file)")
            }
            list = contents
        }
        guard let list else { return nil }
        do {
            return try WebhookSigner(list: list)
        } catch {
            throw ValidationError("signing secret: \(error.message)")
        }
    }
}

import ArgumentParser
import Logging
import ServiceLifecycle
import TaskgateCore
import TaskgateRedis

/// The options both roles share: where Redis is, how keys are named, how much to log.
struct CommonOptions: ParsableArguments {
    @Option(
        help:
            "Redis URL, redis://[[user]:password@]host:port[/db]. [TASKGATE_REDIS_URL, default redis://127.0.0.1:6379/0]"
    )
    var redisURL: String?
    @Option(help: "First part of every Redis key. [TASKGATE_KEY_PREFIX, default taskgate]")
    var keyPrefix: String?
    @Option(help: "trace, debug, info, notice, warning, error or critical. [TASKGATE_LOG_LEVEL, default info]")
    var logLevel: String?
    @Option(help: "text (one line per record) or json (one JSON object per line). [TASKGATE_LOG_FORMAT, default text]")
    var logFormat: String?

    /// The Redis configuration from the flag or the environment.
    func redis() throws -> RedisConfiguration {
        try Settings.redis(redisURL)
    }

    /// The key space from the flag or the environment.
    func keys() throws -> KeySpace {
        try Settings.keys(keyPrefix)
    }

    /// Sets the process up (signals, logging) and returns the root logger; warns when `--redis-url` carries a
    /// password, which every user of the machine can read in `ps`.
    func bootstrap() throws -> Logger {
        let logger = try Taskgate.bootstrap(logLevel: logLevel, logFormat: logFormat)
        if let redisURL, (try? Settings.redis(redisURL))?.hasSecrets == true {
            logger.warning(
                "--redis-url holds a password, which ps shows to every user of this machine: set TASKGATE_REDIS_URL instead"
            )
        }
        return logger
    }

    /// Runs `services` until SIGTERM or SIGINT, then lets them shut down gracefully.
    func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

import ArgumentParser
import TaskgateCore
import TaskgateGateway
import TaskgateRedis

/// What every operator command shares: where Redis is, `--json`, and the seams it runs through (the very
/// ``QueueInspector``, ``QueueControl`` and ``TaskControl`` the HTTP API uses).
struct OperatorOptions: ParsableArguments {
    @Option(
        help:
            "Redis URL, redis://[[user]:password@]host:port[/db]. [TASKGATE_REDIS_URL, default redis://127.0.0.1:6379/0]"
    )
    var redisURL: String?
    @Option(help: "First part of every Redis key. [TASKGATE_KEY_PREFIX, default taskgate]")
    var keyPrefix: String?
    @Flag(help: "Print JSON (the HTTP API's shapes) instead of a table.")
    var json = false

    /// The operator's seams over one pool.
    func operations() throws -> GatewayResponder.Operations {
        let pool = RedisConnectionPool(configuration: try Settings.redis(redisURL), maxIdle: 2)
        return GatewayResponder.Operations(pool: pool, keys: try Settings.keys(keyPrefix))
    }
}

/// The exit codes of the operator commands, for scripts: 0 done, 1 Redis failed, 3 no such task, 4 the task's
/// state does not allow it, 64 a usage error (ArgumentParser's).
enum OperatorExit {
    static let storeFailed: Int32 = 1
    static let notFound: Int32 = 3
    static let conflict: Int32 = 4

    /// Prints `error` and exits with its code.
    static func fail(_ message: String, code: Int32) -> ExitCode {
        Console.error(message)
        return ExitCode(code)
    }

    /// The exit for a store failure.
    static func store(_ error: TaskStoreError) -> ExitCode {
        fail("taskgate: \(error)", code: storeFailed)
    }
}

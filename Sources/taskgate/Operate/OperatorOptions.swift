import ArgumentParser
import TaskgateCore
import TaskgateGateway
import TaskgateRedis

/// What every operator command shares: where Redis is, `--json`, and the seams it runs through (the very
/// ``QueueInspector``, ``QueueControl`` and ``TaskControl`` the HTTP API uses).
struct OperatorOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions
    @Flag(help: "Print JSON (the HTTP API's shapes) instead of a table.")
    var json = false

    /// The operator's seams over one pool.
    func operations() throws -> GatewayResponder.Operations {
        let pool = RedisConnectionPool(configuration: try common.redis(), maxIdle: 2)
        return GatewayResponder.Operations(pool: pool, keys: try common.keys())
    }
}

/// A command whose argument is one task id.
protocol TaskIDCommand: ParsableCommand {
    var id: String { get }
}

extension TaskIDCommand {
    func validate() throws {
        guard TaskID(id) != nil else { throw ValidationError("task ids look like <queue>.<32 hex digits>") }
    }
}

/// A command whose argument is one queue name.
protocol QueueCommand: ParsableCommand {
    var queue: String { get }
}

extension QueueCommand {
    func validate() throws {
        guard QueueName(queue) != nil else { throw ValidationError("queue names match [A-Za-z0-9._-]{1,64}") }
    }
}

/// The exit codes of the operator commands, for scripts: 0 done, 1 Redis failed, 3 no such task or schedule, 4
/// the task's state does not allow it, 64 a usage error (ArgumentParser's), 65 a definition that is refused.
enum OperatorExit {
    static let storeFailed: Int32 = 1
    static let notFound: Int32 = 3
    static let conflict: Int32 = 4
    static let invalid: Int32 = 65

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

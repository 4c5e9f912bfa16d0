import FoundationEssentials

/// The environment a handler's process starts with: the worker's own, less Taskgate's settings.
///
/// A worker is configured through `TASKGATE_*` variables, and some of them are secrets: `TASKGATE_REDIS_URL` with
/// its password, `TASKGATE_API_TOKENS`, `TASKGATE_SIGNING_SECRET`, `TASKGATE_WEBHOOK_SECRET` and the files that hold
/// them. A handler is code that runs tasks, often with their payloads' input; it has no need of the worker's
/// settings, and a secret it holds can leak through its logs, its crash reports or a compromised dependency. So every
/// `TASKGATE_*` variable is withheld from it, but those the operator names in ``passed`` (`--pass-env`); the
/// variables that describe the task (`TASKGATE_TASK_ID`, `TASKGATE_QUEUE`, ...) are added per task after this.
public struct ChildEnvironment: Sendable {
    /// The variables a child starts with.
    public let variables: [String: String]
    /// The `TASKGATE_*` variables passed on anyway.
    public let passed: Set<String>

    /// The worker's environment (`inherited`, read once) less every `TASKGATE_*` variable not in `passed`.
    public init(inherited: [String: String] = ProcessInfo.processInfo.environment, passed: Set<String> = []) {
        self.passed = passed
        self.variables = inherited.filter { name, _ in !Self.isWithheld(name) || passed.contains(name) }
    }

    /// `true` for Taskgate's own settings, which a child does not get unless passed.
    public static func isWithheld(_ name: String) -> Bool {
        name.hasPrefix("TASKGATE_")
    }

    /// ``variables`` with `extra` set over them.
    public func with(_ extra: [String: String]) -> [String: String] {
        variables.merging(extra) { _, new in new }
    }
}

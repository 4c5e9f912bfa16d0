import TaskgateCore

/// Runs tasks of one type: returns a result on success, throws on failure.
///
/// Handlers must be idempotent: delivery is at least once, so a task may run again after a crash.
/// A handler should return promptly when its task is cancelled (per-attempt timeout or shutdown).
public protocol TaskHandler: Sendable {
    /// Runs one attempt of a task and returns its result, any JSON value (kept as the task's `result`).
    func handle(_ task: TaskContext) async throws -> TaskResult
}

/// A handler made from a closure.
public struct ClosureTaskHandler: TaskHandler {
    private let body: @Sendable (TaskContext) async throws -> TaskResult

    /// Wraps a closure that answers any JSON value.
    public init(_ body: @escaping @Sendable (TaskContext) async throws -> TaskResult) {
        self.body = body
    }

    /// Wraps a closure whose text answer is kept as a JSON string.
    public init(text body: @escaping @Sendable (TaskContext) async throws -> String) {
        self.body = { .string(try await body($0)) }
    }

    public func handle(_ task: TaskContext) async throws -> TaskResult {
        try await body(task)
    }
}

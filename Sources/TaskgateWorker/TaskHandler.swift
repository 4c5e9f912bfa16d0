/// Runs tasks of one type: returns a result on success, throws on failure.
///
/// Handlers must be idempotent: delivery is at least once, so a task may run again after a crash.
/// A handler should return promptly when its task is cancelled (per-attempt timeout or shutdown).
public protocol TaskHandler: Sendable {
    /// Runs one attempt of a task and returns its result text (kept as the task's `result`).
    func handle(_ task: TaskContext) async throws -> String
}

/// A handler made from a closure.
public struct ClosureTaskHandler: TaskHandler {
    private let body: @Sendable (TaskContext) async throws -> String

    /// Wraps a closure as a handler.
    public init(_ body: @escaping @Sendable (TaskContext) async throws -> String) {
        self.body = body
    }

    public func handle(_ task: TaskContext) async throws -> String {
        try await body(task)
    }
}

import TaskgateCore

/// Chooses the handler for a task by its type.
public struct HandlerRegistry: Sendable {
    private var byType: [String: any TaskHandler] = [:]
    private var fallback: (any TaskHandler)?

    /// Creates a registry, optionally with a handler for every type that has no handler of its own.
    public init(fallback: (any TaskHandler)? = nil) {
        self.fallback = fallback
    }

    /// Registers `handler` for tasks whose `type` is `type`.
    public mutating func register(_ type: String, _ handler: any TaskHandler) {
        byType[type] = handler
    }

    /// Registers a closure for tasks whose `type` is `type`; it answers any JSON value (a string literal is a
    /// JSON string).
    public mutating func register(
        _ type: String, _ body: @escaping @Sendable (TaskContext) async throws -> TaskResult
    ) {
        byType[type] = ClosureTaskHandler(body)
    }

    /// Sets the handler for types without one of their own (and for tasks without a type).
    public mutating func setFallback(_ handler: any TaskHandler) {
        fallback = handler
    }

    /// The handler for a task's type, if any.
    public func handler(for type: String?) -> (any TaskHandler)? {
        if let type, let handler = byType[type] { return handler }
        return fallback
    }

    /// `true` when no handler at all is registered.
    public var isEmpty: Bool { byType.isEmpty && fallback == nil }
}

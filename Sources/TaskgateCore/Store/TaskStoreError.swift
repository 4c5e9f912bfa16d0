import TaskgateRedis

/// Why the task store could not do what was asked.
public struct TaskStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case unavailable
            case corrupt
            case failed
            case leaseLost
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Redis is down, unreachable, loading, out of memory or read-only: try again later.
        public static let unavailable = Code(.unavailable)
        /// Redis holds data Taskgate cannot read.
        public static let corrupt = Code(.corrupt)
        /// Any other error reply.
        public static let failed = Code(.failed)
        /// The attempt's lease expired and the task was recovered (or finished) meanwhile; nothing was changed.
        public static let leaseLost = Code(.leaseLost)

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Classifies a Redis error: transient conditions become ``Code/unavailable``.
    public init(_ error: RedisError) {
        let transient = ["OOM", "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"]
        if error.isUnavailable || (error.code == .server && transient.contains { error.message.hasPrefix($0) }) {
            self.init(.unavailable, error.message)
        } else {
            self.init(.failed, error.description)
        }
    }

    public var description: String { "task store \(code): \(message)" }
}

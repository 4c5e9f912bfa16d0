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
            case paused
            case maxActive
            case rateLimited
            case notReplicated
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Redis is down, unreachable, loading, out of memory or read-only: try again later.
        public static let unavailable = Code(.unavailable)
        /// The change was made on the master, but fewer replicas than `--min-replicas` confirmed it in time: it
        /// may be lost in a failover, so it is not acknowledged; repeat it (it is keyed, so that is safe).
        public static let notReplicated = Code(.notReplicated)
        /// Redis holds data Taskgate cannot read.
        public static let corrupt = Code(.corrupt)
        /// Any other error reply.
        public static let failed = Code(.failed)
        /// The attempt's lease expired and the task was recovered (or finished) meanwhile; nothing was changed.
        public static let leaseLost = Code(.leaseLost)
        /// The queue is paused: no task of it may start until it is resumed (nothing was claimed).
        public static let paused = Code(.paused)
        /// The queue runs as many tasks as its `max_active` allows (nothing was claimed).
        public static let maxActive = Code(.maxActive)
        /// The queue's rate limit has no token left; ``TaskStoreError/retryAfterMilliseconds`` says when one
        /// will be (nothing was claimed).
        public static let rateLimited = Code(.rateLimited)

        /// Whether trying the same again later may succeed: Redis was unavailable, or replicas did not confirm.
        public var isTransient: Bool { self == .unavailable || self == .notReplicated }

        /// Whether the queue's settings held a claim back (paused, at `max_active`, rate limited): nothing is
        /// wrong, and claiming later will succeed.
        public var isHold: Bool { self == .paused || self == .maxActive || self == .rateLimited }

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation.
    public let message: String
    /// For a hold, how long until a claim can succeed, when Redis knows (the next rate token).
    public let retryAfterMilliseconds: Int?

    /// Creates an error.
    public init(_ code: Code, _ message: String, retryAfterMilliseconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    /// Classifies a Redis error: transient conditions become ``Code/unavailable``.
    public init(_ error: RedisError) {
        let transient = ["OOM", "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS"]
        if error.code == .notReplicated {
            self.init(.notReplicated, error.message)
        } else if error.isUnavailable || (error.code == .server && transient.contains { error.message.hasPrefix($0) }) {
            self.init(.unavailable, error.message)
        } else {
            self.init(.failed, error.description)
        }
    }

    public var description: String { "task store \(code): \(message)" }
}

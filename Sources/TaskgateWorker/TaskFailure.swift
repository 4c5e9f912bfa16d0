/// A handler's failure, with the message that becomes the task's `last_error`.
public struct TaskFailure: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case failed
            case timedOut = "timed-out"
            case noHandler = "no-handler"
            case protocolError = "protocol-error"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The handler reported failure (for the exec handler: a non-zero exit).
        public static let failed = Code(.failed)
        /// The attempt ran past its `timeout_seconds`.
        public static let timedOut = Code(.timedOut)
        /// No handler is registered for the task's type.
        public static let noHandler = Code(.noHandler)
        /// The handler's counterpart broke its contract (a persistent process wrote a malformed line, exited or
        /// hung; an HTTP target could not be reached).
        public static let protocolError = Code(.protocolError)

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// The message kept as `last_error`.
    public let message: String
    /// How long to wait before the retry, instead of the worker's backoff (an HTTP target's `Retry-After`).
    public var retryAfterMilliseconds: Int?

    /// Creates a plain failure (``Code/failed``).
    public init(_ message: String) {
        self.init(.failed, message)
    }

    /// Creates a failure with a code.
    public init(_ code: Code, _ message: String, retryAfterMilliseconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds.map { max(0, $0) }
    }

    public var description: String { message }
}

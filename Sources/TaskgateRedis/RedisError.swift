/// An error from the Redis client: a code to branch on and a message for people.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case connectionFailed = "connection-failed"
            case io = "io"
            case server = "server"
            case protocolViolation = "protocol"
            case invalidURL = "invalid-url"
            case notReplicated = "not-replicated"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The server could not be reached, refused, or the handshake (AUTH, SELECT) failed.
        public static let connectionFailed = Code(.connectionFailed)
        /// Reading or writing the socket failed or timed out; the connection is no longer usable.
        public static let io = Code(.io)
        /// Redis answered with an error reply.
        public static let server = Code(.server)
        /// A reply did not have the shape the caller expected.
        public static let protocolViolation = Code(.protocolViolation)
        /// A `redis://` URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// The write was done, but fewer replicas than asked for confirmed it in time (`--min-replicas`).
        public static let notReplicated = Code(.notReplicated)

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A human-readable explanation.
    public let message: String

    /// Creates an error with a code and message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `true` when Redis could not be reached or the connection broke: the caller may retry later.
    public var isUnavailable: Bool { code == .connectionFailed || code == .io }

    /// `true` for an error reply that starts with `NOSCRIPT`.
    public var isNoScript: Bool { code == .server && message.hasPrefix("NOSCRIPT") }

    public var description: String { "redis \(code): \(message)" }
}

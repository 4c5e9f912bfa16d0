/// Why the HTTP server could not start.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidAddress = "invalid-address"
            case startFailed = "start-failed"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The host is not an IP literal or the port is out of range.
        public static let invalidAddress = Code(.invalidAddress)
        /// libmicrohttpd refused to start (port in use, no permission, ...).
        public static let startFailed = Code(.startFailed)

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

    public var description: String { "http \(code): \(message)" }
}

/// A signing secret that cannot be used.
public struct WebhookSignerError: Error, Sendable, CustomStringConvertible {
    /// What kind of error this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case noSecret = "no-secret"
            case invalidSecret = "invalid-secret"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// No secret was given.
        public static let noSecret = Code(.noSecret)
        /// A `whsec_` secret is not followed by base64.
        public static let invalidSecret = Code(.invalidSecret)

        public var description: String { value.rawValue }
    }

    /// The kind of error.
    public let code: Code
    /// What is wrong, for people.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

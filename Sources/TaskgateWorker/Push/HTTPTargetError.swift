/// A `--http-target` that cannot be used.
public struct HTTPTargetError: Error, Sendable, CustomStringConvertible {
    /// What kind of error this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case invalidTarget = "invalid-target"
            case duplicateTarget = "duplicate-target"
            case noTarget = "no-target"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Not `URL` or `TYPE=URL` with an http:// or https:// URL.
        public static let invalidTarget = Code(.invalidTarget)
        /// Two URLs for the default or for one type.
        public static let duplicateTarget = Code(.duplicateTarget)
        /// No target at all.
        public static let noTarget = Code(.noTarget)

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

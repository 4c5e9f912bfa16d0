/// Why a task submission was refused, naming the offending field as a JSON Pointer.
public struct TaskValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case malformedJSON = "malformed-json"
            case invalidField = "invalid-field"
            case missingField = "missing-field"
            case unknownField = "unknown-field"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The body is not JSON.
        public static let malformedJSON = Code(.malformedJSON)
        /// A field has the wrong type or an out-of-range value.
        public static let invalidField = Code(.invalidField)
        /// A required field is absent.
        public static let missingField = Code(.missingField)
        /// A field the API does not know.
        public static let unknownField = Code(.unknownField)

        /// The code as text (`invalid-field`).
        public var rawValue: String { value.rawValue }
        public var description: String { value.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// JSON Pointer of the field (`/max_retries`); `""` means the whole body; `nil` when there is none.
    public let field: String?
    /// A sentence for people.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, field: String?, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { "\(code) \(field ?? ""): \(message)" }
}

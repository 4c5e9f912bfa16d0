/// A persistent process could not be started.
public struct PersistentProcessError: Error, Sendable, CustomStringConvertible {
    /// What kind of error this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case spawnFailed = "spawn-failed"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A pipe or the process could not be made.
        public static let spawnFailed = Code(.spawnFailed)

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

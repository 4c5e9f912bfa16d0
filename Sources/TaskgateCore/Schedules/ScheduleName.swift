/// A schedule's name: 1 to 128 characters from `A-Z a-z 0-9 . _ -`, so it can never reach another key.
public struct ScheduleName: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The name as given.
    public let rawValue: String

    /// Validates a name; `nil` when it has a character outside the allowed set or a bad length.
    public init?(_ rawValue: String) {
        let utf8 = rawValue.utf8
        guard (1...128).contains(utf8.count), utf8.allSatisfy(QueueName.isAllowed) else { return nil }
        self.rawValue = rawValue
    }

    /// The name as given.
    public var description: String { rawValue }

    /// Names sort by their bytes, as the `names` sorted set holds them.
    public static func < (lhs: ScheduleName, rhs: ScheduleName) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The rule a name must follow, for error messages.
    public static let rule = "schedule names match [A-Za-z0-9._-]{1,128}"
}

/// A queue's name: 1 to 64 characters from `A-Z a-z 0-9 . _ -`, so it can never reach another key space.
public struct QueueName: Sendable, Hashable, CustomStringConvertible {
    /// The name as given.
    public let rawValue: String

    /// The queue used when a task names none.
    public static let `default` = QueueName(unchecked: "default")

    /// Validates a name; `nil` when it has a character outside the allowed set or a bad length.
    public init?(_ rawValue: String) {
        let utf8 = rawValue.utf8
        guard (1...64).contains(utf8.count), utf8.allSatisfy(Self.isAllowed) else { return nil }
        self.rawValue = rawValue
    }

    private init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    public var description: String { rawValue }
}

/// A task's id: `<queue>.<32 lowercase hex>`, so the id alone names the queue (and its Redis hash slot).
public struct TaskID: Sendable, Hashable, CustomStringConvertible {
    /// The queue the task belongs to.
    public let queue: QueueName
    /// The 128 random bits, as 32 lowercase hex digits.
    public let token: String

    /// A fresh id on `queue` from 128 random bits.
    public static func generate(queue: QueueName) -> TaskID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return TaskID(queue: queue, token: hex(high) + hex(low))
    }

    /// Parses an id; `nil` when it is not `<queue>.<32 lowercase hex>`.
    public init?(_ text: String) {
        guard let dot = text.utf8.lastIndex(of: UInt8(ascii: ".")) else { return nil }
        let token = String(text[text.index(after: dot)...])
        guard token.utf8.count == 32, token.utf8.allSatisfy(Self.isLowerHex),
            let queue = QueueName(String(text[..<dot]))
        else { return nil }
        self.queue = queue
        self.token = token
    }

    private init(queue: QueueName, token: String) {
        self.queue = queue
        self.token = token
    }

    /// The id as text.
    public var rawValue: String { queue.rawValue + "." + token }

    public var description: String { rawValue }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

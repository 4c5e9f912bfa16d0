/// A task's id: `<queue>.<32 lowercase hex>`, so the id alone names the queue (and its Redis hash slot).
public struct TaskID: Sendable, Hashable, CustomStringConvertible {
    /// The queue the task belongs to.
    public let queue: QueueName
    /// The 128 random bits, as 32 lowercase hex digits.
    public let token: String
    /// The id as text.
    public let rawValue: String

    /// A fresh id on `queue` from 128 random bits of the kernel's generator.
    public static func generate(queue: QueueName) -> TaskID {
        TaskID(queue: queue, token: RandomBits.hex128())
    }

    /// Parses an id; `nil` when it is not `<queue>.<32 lowercase hex>`.
    public init?(_ text: String) {
        guard let dot = text.utf8.lastIndex(of: UInt8(ascii: ".")) else { return nil }
        let token = String(text[text.index(after: dot)...])
        guard token.utf8.count == 32, token.utf8.allSatisfy(Self.isLowerHex),
            let queue = QueueName(String(text[..<dot]))
        else { return nil }
        self.init(queue: queue, token: token)
    }

    private init(queue: QueueName, token: String) {
        self.queue = queue
        self.token = token
        self.rawValue = queue.rawValue + "." + token
    }

    public var description: String { rawValue }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// A change to a queue's operator settings as the control script publishes it on the queue's event channel:
/// `{"queue":...,"event":"paused"|"resumed"|"limits",...}`.
public struct QueueEvent: Sendable, Equatable {
    /// The queue.
    public let queue: QueueName
    /// What happened (`paused`, `resumed`, `limits`).
    public let kind: String
    /// The event as published: one JSON object.
    public let json: [UInt8]

    /// Parses one event line; `nil` when it is not a queue event.
    public init?(json bytes: [UInt8]) {
        guard Self.isQueueEvent(bytes[...]), case .object(let members)? = try? JSONValue.parse(bytes) else {
            return nil
        }
        var queue: QueueName?
        var kind: String?
        for member in members {
            switch (member.name, member.value) {
            case ("queue", .string(let text)): queue = QueueName(text)
            case ("event", .string(let text)): kind = text
            default: break
            }
        }
        guard let queue, let kind else { return nil }
        self.queue = queue
        self.kind = kind
        self.json = bytes
    }

    /// Whether a line is a queue event rather than a task event, by its start (task events start with `id`).
    public static func isQueueEvent(_ line: ArraySlice<UInt8>) -> Bool {
        line.starts(with: #"{"queue":"#.utf8)
    }
}

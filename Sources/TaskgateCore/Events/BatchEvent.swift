/// One change of a batch as the scripts publish it on the batches' channel (``KeySpace/batchEvents``).
///
/// Members: `batch` (its id), `event` (`batch_progress` when tasks of it were counted, `batch_completed` once,
/// when the last one is final), `succeeded` (on completion: whether every task succeeded), `counts` (`total`,
/// `succeeded`, `dead`, `cancelled`, `unfinished`) and `at` (Redis time, ms). A message carries one event per
/// line.
public struct BatchEvent: Sendable, Equatable {
    /// The batch's id.
    public let id: String
    /// `batch_progress` or `batch_completed`.
    public let kind: String
    /// The event as published: one JSON object.
    public let json: [UInt8]

    /// `true` for the completion: nothing follows it.
    public var isFinal: Bool { kind == "batch_completed" }

    /// Parses one event line; `nil` when it is not one.
    public init?(json bytes: [UInt8]) {
        guard case .object(let members)? = try? JSONValue.parse(bytes) else { return nil }
        var id: String?
        var kind: String?
        for member in members {
            switch (member.name, member.value) {
            case ("batch", .string(let text)): id = text
            case ("event", .string(let text)): kind = text
            default: break
            }
        }
        guard let id, let kind, kind.hasPrefix("batch_") else { return nil }
        self.id = id
        self.kind = kind
        self.json = bytes
    }

    /// The batch id of an event line, read without parsing it: the scripts write `{"batch":"<id>",...`.
    public static func leadingID(_ line: ArraySlice<UInt8>) -> String? {
        TaskEvent.leadingString(of: line, after: #"{"batch":""#)
    }
}

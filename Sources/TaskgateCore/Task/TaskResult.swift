/// A task's result: any JSON value, kept as its compact JSON text.
///
/// Stored in the task's hash as the field `value` and written into every record's JSON as it is. A record
/// written before results were JSON holds its text in the field `result`; it reads as that JSON string.
public struct TaskResult: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The value as compact JSON text.
    public let json: String

    /// A result whose compact JSON text the caller has checked (it was written by Taskgate).
    init(compactJSON json: String) {
        self.json = json
    }

    /// The result `value`, written compactly.
    public init(_ value: JSONValue) {
        self.json = value.serialized
    }

    /// The JSON string `text`.
    public init(stringLiteral text: String) {
        self = .string(text)
    }

    /// The JSON string `text`.
    public static func string(_ text: String) -> TaskResult {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.writeString(text)
        return TaskResult(compactJSON: writer.text)
    }

    /// JSON `null`: what a handler that answers nothing gives.
    public static let null = TaskResult(compactJSON: "null")

    /// What a command's output or an HTTP answer's body becomes: the JSON value it holds when it is one JSON
    /// text (whitespace around it ignored), else the JSON string of the whole text, unchanged.
    public static func output(_ text: String) -> TaskResult {
        output(Array(text.utf8))
    }

    /// ``output(_:)-(String)`` for raw bytes; bytes that are not UTF-8 make a string with replacement characters.
    public static func output(_ bytes: [UInt8]) -> TaskResult {
        if let value = try? JSONValue.parse(bytes) { return TaskResult(value) }
        return .string(String(decoding: bytes, as: UTF8.self))
    }

    /// The value parsed back.
    public var value: JSONValue { (try? JSONValue.parse(json)) ?? .null }

    /// The text, when the result is a JSON string.
    public var string: String? {
        guard json.utf8.first == UInt8(ascii: "\"") else { return nil }
        if case .string(let text) = value { return text }
        return nil
    }

    public var description: String { json }
}

/// A JSON value that keeps numbers as their literal text, so a payload round-trips without losing precision.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number exactly as written (`12`, `-0.5e3`), validated against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in their original order.
    case object([JSONMember])
    /// JSON text that Taskgate serialized itself (a stored payload), written out as is, without parsing again.
    case verbatim(String)

    /// Parses a complete JSON text.
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes)
        return try parser.parseDocument()
    }

    /// Parses a complete JSON text like ``parse(_:)``, but when it is an object, the value of its
    /// member `verbatimMember` is kept as `.verbatim` compact JSON text instead of a tree: exactly the text
    /// ``serialized`` gives for the parsed value, at a fraction of the cost. Errors are the same.
    public static func parse(_ bytes: [UInt8], verbatimMember: String) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes, verbatimMember: verbatimMember)
        return try parser.parseDocument()
    }

    /// Parses a complete JSON text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// The compact serialization of this value.
    public var serialized: String {
        if case .verbatim(let text) = self { return text }
        return String(decoding: serializedBytes, as: UTF8.self)
    }

    /// The compact serialization of this value, as UTF-8 bytes.
    public var serializedBytes: [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }

    /// The JSON type's name, for error messages (`object`, `string`, ...).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        case .verbatim: return "JSON"
        }
    }
}

/// One `"name": value` member of a JSON object.
public struct JSONMember: Sendable, Equatable {
    /// The member's name.
    public var name: String
    /// The member's value.
    public var value: JSONValue

    /// Creates a member.
    public init(_ name: String, _ value: JSONValue) {
        self.name = name
        self.value = value
    }
}

/// Why a JSON text could not be parsed, with the byte offset where it went wrong.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based byte offset of the problem.
    public let offset: Int
    /// What was wrong.
    public let reason: String

    /// Creates an error.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

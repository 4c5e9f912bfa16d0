/// Builds compact JSON text.
public struct JSONWriter: Sendable {
    /// The text written so far.
    public private(set) var text = ""

    /// Creates an empty writer.
    public init() {}

    /// Appends a value.
    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .number(let literal): text += literal
        case .string(let string): writeString(string)
        case .array(let elements):
            text += "["
            for (offset, element) in elements.enumerated() {
                if offset > 0 { text += "," }
                write(element)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (offset, member) in members.enumerated() {
                if offset > 0 { text += "," }
                writeString(member.name)
                text += ":"
                write(member.value)
            }
            text += "}"
        }
    }

    /// Appends a string literal with the escapes JSON requires.
    public mutating func writeString(_ string: String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

extension JSONValue {
    /// A JSON string, or `null` when the text is `nil`.
    public static func string(orNull text: String?) -> JSONValue {
        text.map { .string($0) } ?? .null
    }

    /// A JSON number from an integer.
    public static func integer(_ value: Int) -> JSONValue {
        .number(String(value))
    }
}

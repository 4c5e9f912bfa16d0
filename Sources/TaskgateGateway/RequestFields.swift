import TaskgateCore

/// The fields of a small JSON request body (the pull API's), checked against the names an endpoint knows.
///
/// An empty body counts as `{}`. Each accessor checks type and range and names the field in its error as a JSON
/// Pointer, as `POST /tasks` does.
struct RequestFields {
    private let members: [String: JSONValue]

    /// Parses `body`; unknown, repeated or ill-typed fields are refused.
    init(body: [UInt8], allowed: Set<String>) throws(TaskValidationError) {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) {
            members = [:]
            return
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            throw TaskValidationError(.malformedJSON, field: nil, "the body is not valid JSON: \(error)")
        }
        guard case .object(let list) = document else {
            throw TaskValidationError(
                .invalidField, field: "", "the body must be a JSON object, got \(document.typeName)")
        }
        var members: [String: JSONValue] = [:]
        for member in list {
            let field = "/" + member.name.replacingPointerCharacters
            guard allowed.contains(member.name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw TaskValidationError(.unknownField, field: field, "unknown field \(member.name); known: \(known)")
            }
            guard members[member.name] == nil else {
                throw TaskValidationError(.invalidField, field: field, "field \(member.name) appears twice")
            }
            members[member.name] = member.value
        }
        self.members = members
    }

    /// A number of seconds in `range`, as milliseconds; `nil` when absent (null is refused, as by `POST /tasks`).
    func milliseconds(_ name: String, in range: ClosedRange<Double>) throws(TaskValidationError) -> Int? {
        guard let value = members[name] else { return nil }
        guard case .number(let text) = value, let seconds = Double(text), seconds.isFinite else {
            throw TaskValidationError(
                .invalidField, field: "/" + name, "\(name) must be a number, got \(value.typeName)")
        }
        guard range.contains(seconds) else {
            throw TaskValidationError(
                .invalidField, field: "/" + name,
                "\(name) must be from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), got \(text)"
            )
        }
        return Int((seconds * 1000).rounded())
    }

    /// A number in `range`; `nil` when absent (null is refused).
    func number(_ name: String, in range: ClosedRange<Double>) throws(TaskValidationError) -> Double? {
        guard let value = members[name] else { return nil }
        guard case .number(let text) = value, let number = Double(text), number.isFinite else {
            throw TaskValidationError(
                .invalidField, field: "/" + name, "\(name) must be a number, got \(value.typeName)")
        }
        guard range.contains(number) else {
            throw TaskValidationError(
                .invalidField, field: "/" + name,
                "\(name) must be from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), got \(text)"
            )
        }
        return number
    }

    /// An integer in `range` (a whole number written `2.0` counts, as JSON Schema says); `nil` when absent.
    func integer(_ name: String, in range: ClosedRange<Int>) throws(TaskValidationError) -> Int? {
        guard let value = members[name] else { return nil }
        guard case .number(let text) = value, let number = Double(text), number.isFinite, number == number.rounded()
        else {
            throw TaskValidationError(
                .invalidField, field: "/" + name, "\(name) must be an integer, got \(value.typeName)")
        }
        guard number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw TaskValidationError(
                .invalidField, field: "/" + name, "\(name) must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(number)
    }

    /// A string of at most `maxLength` bytes; `nil` when absent.
    func string(_ name: String, maxLength: Int) throws(TaskValidationError) -> String? {
        guard let value = members[name] else { return nil }
        guard case .string(let text) = value else {
            throw TaskValidationError(
                .invalidField, field: "/" + name, "\(name) must be a string, got \(value.typeName)")
        }
        guard text.utf8.count <= maxLength else {
            throw TaskValidationError(.invalidField, field: "/" + name, "\(name) is longer than \(maxLength) bytes")
        }
        return text
    }

    /// A required string.
    func requiredString(_ name: String, maxLength: Int) throws(TaskValidationError) -> String {
        guard let text = try string(name, maxLength: maxLength) else {
            throw TaskValidationError(.missingField, field: "/" + name, "\(name) is required")
        }
        return text
    }

    /// Any JSON value (null included); `nil` when absent.
    func value(_ name: String) -> JSONValue? {
        members[name]
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

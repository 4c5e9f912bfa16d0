/// A validated `POST /tasks` body.
public struct TaskSubmission: Sendable, Equatable {
    /// The task's input, any JSON value, stored as compact JSON text (parsed from a body, it is `.verbatim`).
    public var payload: JSONValue
    /// The task type that selects a handler, if any.
    public var type: String?
    /// The queue to put the task on.
    public var queue: QueueName
    /// How many times a failed task is scheduled again before it is dead.
    public var maxRetries: Int
    /// Milliseconds to wait before the task becomes pending.
    public var delayMilliseconds: Int
    /// The per-attempt time limit in milliseconds, if any.
    public var timeoutMilliseconds: Int?
    /// Where to POST the task's record once it is final (`callback_url`), checked for syntax here and
    /// against the gateway's allow list there (``CallbackAllowList``).
    public var callbackURL: String?
    /// The schedule and tick that fired the task, when a schedule did (never part of a `POST /tasks` body).
    public var origin: ScheduleOrigin?
    /// The parents it waits for, as given (`after`): task ids, `batch:<id>`, or in a batch another task's `ref`.
    public var after: [String] = []
    /// What it does when a parent fails (`on_parent_failure`).
    public var onParentFailure: ParentFailurePolicy = .cancel

    /// The default for ``maxRetries``.
    public static let defaultMaxRetries = 5
    /// The largest accepted ``maxRetries``.
    public static let maxRetriesLimit = 100
    /// The longest accepted delay: one year.
    public static let maxDelaySeconds = 31_536_000.0
    /// The longest accepted per-attempt timeout: one day.
    public static let maxTimeoutSeconds = 86_400.0

    /// Creates a submission from already valid parts.
    public init(
        payload: JSONValue, type: String? = nil, queue: QueueName = .default, maxRetries: Int = defaultMaxRetries,
        delayMilliseconds: Int = 0, timeoutMilliseconds: Int? = nil, callbackURL: String? = nil
    ) {
        self.payload = payload
        self.type = type
        self.queue = queue
        self.maxRetries = maxRetries
        self.delayMilliseconds = delayMilliseconds
        self.timeoutMilliseconds = timeoutMilliseconds
        self.callbackURL = callbackURL
        self.origin = nil
    }

    /// Parses and validates a request body.
    public init(body: [UInt8]) throws(TaskValidationError) {
        let document: JSONValue
        do {
            // The payload is only stored, never looked into: keep it as compact text, not as a tree.
            document = try JSONValue.parse(body, verbatimMember: "payload")
        } catch {
            throw TaskValidationError(.malformedJSON, field: nil, "the body is not valid JSON: \(error)")
        }
        guard case .object(let members) = document else {
            throw TaskValidationError(
                .invalidField, field: "", "the body must be a JSON object, got \(document.typeName)")
        }
        var payload: JSONValue?
        self.init(payload: .null)
        var seen: [String] = []
        seen.reserveCapacity(members.count)
        for member in members {
            let field = "/" + member.name.replacingPointerCharacters
            // Only the nine known names get past the switch below, so `seen` stays tiny.
            guard !seen.contains(member.name) else {
                throw TaskValidationError(.invalidField, field: field, "field \(member.name) appears twice")
            }
            seen.append(member.name)
            switch member.name {
            case "payload":
                payload = member.value
            case "type":
                type = try Self.typeName(member.value, field: field)
            case "queue":
                let name = try Self.string(member.value, field: field)
                guard let queue = QueueName(name) else {
                    throw TaskValidationError(.invalidField, field: field, "queue must match [A-Za-z0-9._-]{1,64}")
                }
                self.queue = queue
            case "max_retries":
                let value = try Self.number(member.value, field: field, kind: "an integer")
                guard value == value.rounded(), (0...Double(Self.maxRetriesLimit)).contains(value) else {
                    throw TaskValidationError(
                        .invalidField, field: field, "max_retries must be an integer from 0 to \(Self.maxRetriesLimit)")
                }
                maxRetries = Int(value)
            case "delay_seconds":
                let value = try Self.number(member.value, field: field)
                guard value >= 0, value <= Self.maxDelaySeconds else {
                    throw TaskValidationError(
                        .invalidField, field: field, "delay_seconds must be from 0 to \(Int(Self.maxDelaySeconds))")
                }
                delayMilliseconds = Int((value * 1000).rounded(.up))
            case "timeout_seconds":
                let value = try Self.number(member.value, field: field)
                guard value > 0, value <= Self.maxTimeoutSeconds else {
                    throw TaskValidationError(
                        .invalidField, field: field,
                        "timeout_seconds must be greater than 0 and at most \(Int(Self.maxTimeoutSeconds))")
                }
                timeoutMilliseconds = max(1, Int((value * 1000).rounded()))
            case "after":
                guard case .array(let entries) = member.value else {
                    throw TaskValidationError(
                        .invalidField, field: field, "after must be an array of task ids, got \(member.value.typeName)")
                }
                guard entries.count <= ParentReference.maxParents else {
                    throw TaskValidationError(
                        .invalidField, field: field,
                        "after names at most \(ParentReference.maxParents) parents, got \(entries.count)")
                }
                after = try entries.enumerated().map { index, entry throws(TaskValidationError) in
                    guard case .string(let text) = entry, !text.isEmpty, text.utf8.count <= 200 else {
                        throw TaskValidationError(
                            .invalidField, field: "\(field)/\(index)",
                            "each entry of after must be a task id, batch:<id> or a ref, got \(entry.typeName)")
                    }
                    return text
                }
            case "on_parent_failure":
                let text = try Self.string(member.value, field: field)
                guard let policy = ParentFailurePolicy(rawValue: text) else {
                    throw TaskValidationError(
                        .invalidField, field: field, "on_parent_failure must be cancel or run, got \(text)")
                }
                onParentFailure = policy
            case "callback_url":
                let text = try Self.string(member.value, field: field)
                guard CallbackURL(text) != nil else {
                    throw TaskValidationError(
                        .invalidField, field: field,
                        "callback_url must be an absolute http or https URL with a host, at most "
                            + "\(CallbackURL.maxLength) bytes")
                }
                callbackURL = text
            default:
                throw TaskValidationError(.unknownField, field: field, "unknown field \(member.name)")
            }
        }
        guard let payload else {
            throw TaskValidationError(.missingField, field: "/payload", "payload is required (any JSON value)")
        }
        self.payload = payload
    }

    private static func string(_ value: JSONValue, field: String) throws(TaskValidationError) -> String {
        guard case .string(let text) = value else {
            throw TaskValidationError(
                .invalidField, field: field, "\(field.dropFirst()) must be a string, got \(value.typeName)")
        }
        return text
    }

    private static func number(
        _ value: JSONValue, field: String, kind: String = "a number"
    ) throws(TaskValidationError) -> Double {
        guard case .number(let literal) = value, let number = Double(literal), number.isFinite else {
            throw TaskValidationError(
                .invalidField, field: field, "\(field.dropFirst()) must be \(kind), got \(value.typeName)")
        }
        return number
    }

    private static func typeName(_ value: JSONValue, field: String) throws(TaskValidationError) -> String {
        let text = try string(value, field: field)
        let allowed = text.utf8.allSatisfy {
            QueueName.isAllowed($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "/")
        }
        guard (1...128).contains(text.utf8.count), allowed else {
            throw TaskValidationError(.invalidField, field: field, "type must match [A-Za-z0-9._:/-]{1,128}")
        }
        return text
    }
}

extension String {
    /// Escapes `~` and `/` as JSON Pointer (RFC 6901) requires.
    public var replacingPointerCharacters: String {
        guard utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return self }
        var escaped = ""
        for character in self {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// What a `POST /tasks/batch` says about its batch (`"batch": {"callback_url": ..., "metadata": ...}`).
public struct BatchSpec: Sendable, Equatable {
    /// Where the batch's completion is POSTed, once, when its last task is final.
    public var callbackURL: String?
    /// The client's own JSON, kept with the batch and sent back in its record and webhook.
    public var metadata: JSONValue?

    /// Creates a spec.
    public init(callbackURL: String? = nil, metadata: JSONValue? = nil) {
        self.callbackURL = callbackURL
        self.metadata = metadata
    }

    /// Reads the `batch` member of a request body.
    public init(_ value: JSONValue) throws(TaskValidationError) {
        guard case .object(let members) = value else {
            throw TaskValidationError(.invalidField, field: "/batch", "batch must be an object, got \(value.typeName)")
        }
        for member in members {
            switch (member.name, member.value) {
            case ("callback_url", .string(let text)):
                guard CallbackURL(text) != nil else {
                    throw TaskValidationError(
                        .invalidField, field: "/batch/callback_url",
                        "callback_url must be an absolute http or https URL with a host, at most "
                            + "\(CallbackURL.maxLength) bytes")
                }
                callbackURL = text
            case ("callback_url", let other):
                throw TaskValidationError(
                    .invalidField, field: "/batch/callback_url", "callback_url must be a string, got \(other.typeName)")
            case ("metadata", let any):
                guard any.serialized.utf8.count <= WorkflowLimits.maxMetadataBytes else {
                    throw TaskValidationError(
                        .invalidField, field: "/batch/metadata",
                        "metadata is at most \(WorkflowLimits.maxMetadataBytes) bytes of compact JSON")
                }
                metadata = any
            default:
                throw TaskValidationError(
                    .unknownField, field: "/batch/" + member.name.replacingPointerCharacters,
                    "unknown field \(member.name)")
            }
        }
    }
}

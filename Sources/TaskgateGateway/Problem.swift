import TaskgateCore
import TaskgateHTTP

/// An RFC 9457 problem: every error the gateway answers, as `application/problem+json`.
public struct Problem: Error, Sendable {
    /// The HTTP status.
    public var status: Int
    /// A short stable code (`invalid-field`); the `type` URI is `urn:taskgate:problem:<code>`.
    public var code: String
    /// A short summary that depends only on the code.
    public var title: String
    /// What went wrong this time.
    public var detail: String
    /// JSON Pointer of the request field at fault, when there is one.
    public var field: String?
    /// Extra response headers (`Allow`, `Retry-After`).
    public var headers: [(name: String, value: String)] = []
    /// Extra members of the problem document (a task's current `state`).
    public var members: [JSONMember] = []

    /// Creates a problem.
    public init(status: Int, code: String, title: String, detail: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.field = field
    }

    /// The response carrying this problem.
    public var response: HTTPResponse {
        var members = [
            JSONMember("type", .string("urn:taskgate:problem:" + code)),
            JSONMember("title", .string(title)),
            JSONMember("status", .integer(status)),
            JSONMember("detail", .string(detail)),
            JSONMember("code", .string(code)),
        ]
        if let field { members.append(JSONMember("field", .string(field))) }
        members += self.members
        return HTTPResponse(
            status: status,
            headers: [("Content-Type", "application/problem+json")] + headers,
            body: JSONValue.object(members).serializedBytes)
    }

    /// 400 for a refused submission.
    public static func invalid(_ error: TaskValidationError) -> Problem {
        let titles = [
            TaskValidationError.Code.malformedJSON: "Malformed JSON",
            .missingField: "Missing field",
            .unknownField: "Unknown field",
        ]
        return Problem(
            status: 400, code: error.code.rawValue, title: titles[error.code] ?? "Invalid field", detail: error.message,
            field: error.field)
    }

    /// 404 for an unknown, expired or malformed task id.
    public static func notFound(_ detail: String) -> Problem {
        Problem(status: 404, code: "not-found", title: "Not found", detail: detail)
    }

    /// 405 with the methods the path allows.
    public static func methodNotAllowed(_ method: String, allow: [String]) -> Problem {
        var problem = Problem(
            status: 405, code: "method-not-allowed", title: "Method not allowed",
            detail: "\(method) is not allowed here; use \(allow.joined(separator: ", "))")
        problem.headers = [("Allow", allow.joined(separator: ", "))]
        return problem
    }

    /// 401 with a `WWW-Authenticate` challenge, when tokens are configured and none valid was sent.
    public static func unauthorized(tokenSent: Bool) -> Problem {
        var problem = Problem(
            status: 401, code: "unauthorized", title: "Unauthorized",
            detail: tokenSent
                ? "the bearer token is not one this gateway accepts"
                : "send Authorization: Bearer <token> with one of the gateway's API tokens")
        problem.headers = [
            (
                "WWW-Authenticate",
                tokenSent ? "Bearer realm=\"taskgate\", error=\"invalid_token\"" : "Bearer realm=\"taskgate\""
            )
        ]
        return problem
    }

    /// 403 when the token is valid but lacks the scope the endpoint needs.
    public static func forbidden(needs scope: AccessScopes) -> Problem {
        var problem = Problem(
            status: 403, code: "forbidden", title: "Forbidden",
            detail: "this token lacks the \(scope) scope this endpoint needs")
        problem.headers = [
            ("WWW-Authenticate", "Bearer realm=\"taskgate\", error=\"insufficient_scope\", scope=\"\(scope)\"")
        ]
        return problem
    }

    /// 409 when a pull worker reports on an attempt it no longer holds; nothing was changed.
    public static func leaseLost(_ id: TaskID, state: TaskState?) -> Problem {
        if state == .cancelled {
            var problem = Problem(
                status: 409, code: "cancelled", title: "Cancelled",
                detail: "task \(id) was cancelled by an operator: stop working on it; nothing was changed")
            problem.members = [JSONMember("state", .string("cancelled"))]
            return problem
        }
        let now = state.map { "the task is \($0.rawValue) now" } ?? "the task is gone"
        return Problem(
            status: 409, code: "lease-lost", title: "Lease lost",
            detail:
                "this token is not the current attempt of task \(id): its lease expired and the task was taken "
                + "back, or it finished (\(now)); nothing was changed")
    }

    /// 409 when an operator's change does not fit the task's state (requeue of a task that is not dead, delete
    /// of a running one, cancel of a finished one); `state` names the state it is in.
    public static func stateConflict(_ id: TaskID, action: String, state: TaskState?, hint: String) -> Problem {
        var problem = Problem(
            status: 409, code: "state-conflict", title: "Conflict with the task's state",
            detail: "cannot \(action) task \(id): it is \(state?.rawValue ?? "in no known state"); \(hint)")
        problem.members = [JSONMember("state", state.map { .string($0.rawValue) } ?? .null)]
        return problem
    }

    /// 503 with `Retry-After`: the request may succeed if repeated after that many seconds.
    static func serviceUnavailable(code: String, title: String, detail: String, retryAfterSeconds: Int) -> Problem {
        var problem = Problem(status: 503, code: code, title: title, detail: detail)
        problem.headers = [("Retry-After", String(retryAfterSeconds))]
        return problem
    }

    /// 503 when as many claims wait for tasks as the gateway allows.
    public static func tooManyWaitingClaims(limit: Int, retryAfterSeconds: Int) -> Problem {
        serviceUnavailable(
            code: "too-many-waiting-claims", title: "Too many waiting claims",
            detail: "\(limit) claims are waiting for tasks already, the most this gateway allows; claim again later",
            retryAfterSeconds: retryAfterSeconds)
    }

    /// 400 for an `Idempotency-Key` header that is not 1 to 255 visible ASCII characters.
    public static func invalidIdempotencyKey() -> Problem {
        Problem(
            status: 400, code: "invalid-idempotency-key", title: "Invalid idempotency key",
            detail: "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)")
    }

    /// 422 when an `Idempotency-Key` comes back with a different request.
    /// The id is named only when `existing` is given (the caller may read tasks, see ``ReplayScope``).
    public static func idempotencyKeyReused(existing: TaskID?) -> Problem {
        Problem(
            status: 422, code: "idempotency-key-reused", title: "Idempotency key reused",
            detail:
                "this Idempotency-Key created \(existing.map { "task \($0)" } ?? "a task") from a different request; use a new key"
        )
    }

    /// 409 when an `Idempotency-Key` is replayed but the task it created has expired.
    public static func idempotentTaskExpired(_ id: TaskID) -> Problem {
        Problem(
            status: 409, code: "idempotent-task-expired", title: "Task expired",
            detail: "this Idempotency-Key created task \(id), whose record has expired; nothing was enqueued")
    }

    /// 413 for a body over the limit.
    public static func payloadTooLarge(limit: Int) -> Problem {
        Problem(
            status: 413, code: "payload-too-large", title: "Payload too large",
            detail: "the request body is larger than the limit of \(limit) bytes")
    }

    /// 415 for a body that is not JSON.
    public static func unsupportedMediaType(_ mediaType: String?) -> Problem {
        Problem(
            status: 415, code: "unsupported-media-type", title: "Unsupported media type",
            detail: "send Content-Type: application/json (got \(mediaType ?? "none"))")
    }

    /// 503 (with `Retry-After`) when Redis cannot take or give the data, or 500 for anything else.
    public static func store(_ error: TaskStoreError, retryAfterSeconds: Int) -> Problem {
        switch error.code {
        case .notReplicated:
            return serviceUnavailable(
                code: "not-replicated", title: "Not replicated",
                detail:
                    "\(error.message); it is not acknowledged: repeat the request after Retry-After seconds (a POST "
                    + "with the same Idempotency-Key, so that the task is not created twice)",
                retryAfterSeconds: retryAfterSeconds)
        case .unavailable:
            return serviceUnavailable(
                code: "redis-unavailable", title: "Redis unavailable",
                detail:
                    "Redis is unavailable; try again after Retry-After seconds (repeat a POST with the same "
                    + "Idempotency-Key, so that a task that was stored after all is not created twice)",
                retryAfterSeconds: retryAfterSeconds)
        default:
            return Problem(status: 500, code: "internal-error", title: "Internal error", detail: error.message)
        }
    }
}

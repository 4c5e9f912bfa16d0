import Logging
import TaskgateCore
import TaskgateHTTP

/// The gateway's HTTP API: routes requests to the task store and shapes every answer, errors included.
public struct GatewayResponder: HTTPResponder {
    private let store: any TaskStore
    private let logger: Logger
    private let router: Router
    /// Seconds a client is asked to wait in `Retry-After` when Redis is unavailable.
    public static let retryAfterSeconds = 1

    /// Creates the responder over a task store.
    public init(store: any TaskStore, logger: Logger) {
        self.store = store
        self.logger = logger
        var router = Router()
        router.add("POST", "/tasks") { request, _ in Self.createTask(request, store: store, logger: logger) }
        router.add("GET", "/tasks/:id") { _, parameters in
            Self.withTask(parameters["id"], store: store) { TaskRepresentation.task($0) }
        }
        router.add("GET", "/tasks/:id/retries") { _, parameters in
            Self.withTask(parameters["id"], store: store) { TaskRepresentation.retries($0) }
        }
        router.add("GET", "/healthz") { _, _ in Self.json(200, .object([JSONMember("status", .string("ok"))])) }
        router.add("GET", "/readyz") { _, _ in
            do throws(TaskStoreError) {
                try store.ping()
                return Self.json(200, .object([JSONMember("status", .string("ready"))]))
            } catch {
                return Problem.store(error, retryAfterSeconds: Self.retryAfterSeconds).response
            }
        }
        self.router = router
    }

    public func preflight(_ head: HTTPRequest) -> HTTPResponse? {
        switch router.match(method: head.method, path: head.path) {
        case .notFound:
            return Problem.notFound("no resource at \(head.path)").response
        case .methodNotAllowed(let allow):
            return Problem.methodNotAllowed(head.method, allow: allow).response
        case .found:
            if head.method == "POST" && head.mediaType != "application/json" {
                return Problem.unsupportedMediaType(head.mediaType).response
            }
            return nil
        }
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        switch router.match(method: request.method, path: request.path) {
        case .found(let handler, let parameters):
            return handler(request, parameters)
        case .notFound, .methodNotAllowed:
            return preflight(request) ?? Problem.notFound("no resource at \(request.path)").response
        }
    }

    public func payloadTooLarge(_ head: HTTPRequest, limit: Int) -> HTTPResponse {
        Problem.payloadTooLarge(limit: limit).response
    }

    private static func createTask(_ request: HTTPRequest, store: any TaskStore, logger: Logger) -> HTTPResponse {
        let submission: TaskSubmission
        do {
            submission = try TaskSubmission(body: request.body)
        } catch {
            return Problem.invalid(error).response
        }
        do {
            let record = try store.enqueue(submission)
            var response = json(202, TaskRepresentation.task(record))
            response.headers.append(("Location", "/tasks/" + record.id.rawValue))
            return response
        } catch {
            logger.warning("enqueue failed", metadata: ["error": "\(error)"])
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    private static func withTask(
        _ rawID: String?, store: any TaskStore, render: (TaskRecord) -> JSONValue
    ) -> HTTPResponse {
        guard let rawID, let id = TaskID(rawID) else {
            return Problem.notFound("no task \(rawID ?? ""): ids look like <queue>.<32 hex digits>").response
        }
        do {
            guard let record = try store.task(id) else {
                return Problem.notFound("no task \(id): unknown, or expired after its retention time").response
            }
            return json(200, render(record))
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    private static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "application/json")], body: Array(value.serialized.utf8))
    }
}

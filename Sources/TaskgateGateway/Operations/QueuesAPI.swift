import TaskgateCore
import TaskgateHTTP

/// The queue endpoints of the operator's surface: list and inspect queues, pause and resume them, set and remove
/// their limits. The reads go through ``QueueInspector`` and the changes through ``QueueControl``, the same
/// code the CLI runs.
///
/// Cost per call: `GET /queues` is one `ZRANGE BYLEX` of the registry and two pipelined rounds for the page's
/// queues (about ten O(1) commands per queue, see ``QueueInspector``); `GET /queues/{queue}` the same for one;
/// each change is one script on one hash.
struct QueuesAPI: Sendable {
    let inspector: QueueInspector
    let control: QueueControl
    let retryAfterSeconds: Int

    /// The default page size of `GET /queues`.
    static let defaultPage = 100

    /// Adds the routes to `router`.
    func register(on router: inout Router) {
        router.add("GET", "/queues") { request, _ in self.list(request) }
        router.add("GET", "/queues/:queue") { _, parameters in
            self.withQueue(parameters["queue"]) { queue throws(TaskStoreError) in
                QueueRepresentation.summary(try inspector.summary(of: queue), perMinute: true)
            }
        }
        router.add("GET", "/queues/:queue/tasks") { request, parameters in
            let listing: TaskListing
            switch Self.listing(request) {
            case .failure(let problem): return problem.response
            case .success(let parsed): listing = parsed
            }
            return self.withQueue(parameters["queue"]) { queue throws(TaskStoreError) in
                QueueRepresentation.tasks(try inspector.tasks(in: queue, listing))
            }
        }
        router.add("POST", "/queues/:queue/pause") { _, parameters in
            self.withQueue(parameters["queue"]) { queue throws(TaskStoreError) in
                QueueRepresentation.settings(queue, try control.pause(queue))
            }
        }
        router.add("POST", "/queues/:queue/resume") { _, parameters in
            self.withQueue(parameters["queue"]) { queue throws(TaskStoreError) in
                QueueRepresentation.settings(queue, try control.resume(queue))
            }
        }
        router.add("PUT", "/queues/:queue/limits") { request, parameters in
            let limits: QueueLimits
            switch Self.limits(request.body) {
            case .failure(let problem): return problem.response
            case .success(let parsed): limits = parsed
            }
            return self.withQueue(parameters["queue"]) { queue throws(TaskStoreError) in
                QueueRepresentation.settings(queue, try control.setLimits(queue, limits))
            }
        }
        router.add("DELETE", "/queues/:queue/limits") { _, parameters in
            self.withQueue(parameters["queue"]) { queue throws(TaskStoreError) in
                QueueRepresentation.settings(queue, try control.clearLimits(queue))
            }
        }
    }

    private func list(_ request: HTTPRequest) -> HTTPResponse {
        var limit = Self.defaultPage
        if let text = request.queryValue("limit") {
            guard let number = Int(text), (1...QueueInspector.maxPage).contains(number) else {
                return Problem.invalidParameter(
                    "limit", "limit must be a whole number from 1 to \(QueueInspector.maxPage), got \(text)"
                ).response
            }
            limit = number
        }
        var cursor: QueueName?
        if let text = request.queryValue("cursor") {
            guard let queue = QueueName(text) else {
                return Problem.invalidParameter("cursor", "cursor must be a queue name from next_cursor, got \(text)")
                    .response
            }
            cursor = queue
        }
        // The chart costs no Redis work: the counts hash every summary reads already holds the minute buckets.
        var perMinute = false
        if let text = request.queryValue("per_minute") {
            guard let flag = Bool(text) else {
                return Problem.invalidParameter("per_minute", "per_minute must be true or false, got \(text)").response
            }
            perMinute = flag
        }
        do throws(TaskStoreError) {
            let page = try inspector.summaries(after: cursor, limit: limit)
            return Self.json(QueueRepresentation.page(page.queues, next: page.next, perMinute: perMinute))
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    /// The query of `GET /queues/{queue}/tasks`: `state` (required), `type`, `error`, `limit`, `cursor`.
    static func listing(_ request: HTTPRequest) -> Result<TaskListing, Problem> {
        let states = TaskListing.listableStates.map(\.rawValue)
        guard let text = request.queryValue("state") else {
            return .failure(
                Problem.invalidParameter("state", "state is required: one of \(states.joined(separator: ", "))"))
        }
        guard let state = TaskState(rawValue: text), TaskListing.listableStates.contains(state) else {
            return .failure(
                Problem.invalidParameter(
                    "state", "state must be one of \(states.joined(separator: ", ")), got \(text)"))
        }
        var limit = 50
        if let text = request.queryValue("limit") {
            guard let number = Int(text), (1...TaskListing.maxLimit).contains(number) else {
                return .failure(
                    Problem.invalidParameter(
                        "limit", "limit must be a whole number from 1 to \(TaskListing.maxLimit), got \(text)"))
            }
            limit = number
        }
        var cursor: TaskCursor?
        if let text = request.queryValue("cursor") {
            guard let parsed = TaskCursor(text) else {
                return .failure(Problem.invalidParameter("cursor", "cursor must be a next_cursor a page gave"))
            }
            cursor = parsed
        }
        let type = request.queryValue("type").flatMap { $0.isEmpty ? nil : $0 }
        let error = request.queryValue("error").flatMap { $0.isEmpty ? nil : $0 }
        for (name, value) in [("type", type), ("error", error)] where (value?.utf8.count ?? 0) > 256 {
            return .failure(Problem.invalidParameter(name, "\(name) must be at most 256 bytes"))
        }
        return .success(TaskListing(state: state, type: type, errorContains: error, limit: limit, cursor: cursor))
    }

    /// The body of `PUT /queues/{queue}/limits`: `max_per_second`, `burst`, `max_active`, each optional (absent
    /// removes it), at least one of `max_per_second` and `max_active`.
    static func limits(_ body: [UInt8]) -> Result<QueueLimits, Problem> {
        do throws(TaskValidationError) {
            let fields = try RequestFields(body: body, allowed: ["max_per_second", "burst", "max_active"])
            let limits = QueueLimits(
                maxPerSecond: try fields.number("max_per_second", in: QueueLimits.perSecondRange),
                burst: try fields.integer("burst", in: QueueLimits.burstRange),
                maxActive: try fields.integer("max_active", in: QueueLimits.maxActiveRange))
            if limits.burst != nil && limits.maxPerSecond == nil {
                throw TaskValidationError(.invalidField, field: "/burst", "burst needs max_per_second")
            }
            if limits.isEmpty {
                throw TaskValidationError(
                    .missingField, field: "",
                    "give max_per_second, max_active or both (DELETE /queues/{queue}/limits removes them)")
            }
            return .success(limits)
        } catch {
            return .failure(Problem.invalid(error))
        }
    }

    private func withQueue(
        _ raw: String?, _ body: (QueueName) throws(TaskStoreError) -> JSONValue
    ) -> HTTPResponse {
        guard let raw, let queue = QueueName(raw) else {
            return Problem.notFound("no queue \(raw ?? ""): queue names match [A-Za-z0-9._-]{1,64}").response
        }
        do throws(TaskStoreError) {
            return Self.json(try body(queue))
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    private static func json(_ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: value.serializedBytes)
    }
}

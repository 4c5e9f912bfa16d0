import TaskgateCore
import TaskgateHTTP

/// The schedule endpoints: create or replace, read, list, delete, pause, resume and trigger schedules, through
/// ``ScheduleControl``, the seam the CLI uses too.
///
/// Cost per call: see ``ScheduleControl`` (a change is one script; a read one pipelined round per page).
struct SchedulesAPI: Sendable {
    let control: ScheduleControl
    /// Stores a trigger's task.
    let store: RedisTaskStore
    let callbackAllow: CallbackAllowList
    let gate: QueueGate
    let retryAfterSeconds: Int

    /// The default page size of `GET /schedules`.
    static let defaultPage = 100

    /// Adds the routes to `router`.
    func register(on router: inout Router) {
        router.add("GET", "/schedules") { request, _ in self.list(request) }
        router.add("GET", "/schedules/:name") { _, parameters in
            self.withSchedule(parameters["name"]) { name throws(TaskStoreError) in
                try control.schedule(name).map { Self.json(200, ScheduleRepresentation.schedule($0, now: Self.now)) }
            }
        }
        router.add("PUT", "/schedules/:name") { request, parameters in self.put(request, parameters["name"]) }
        router.add("DELETE", "/schedules/:name") { _, parameters in
            self.withSchedule(parameters["name"]) { name throws(TaskStoreError) in
                try control.delete(name) ? HTTPResponse(status: 204, headers: [], body: []) : nil
            }
        }
        router.add("POST", "/schedules/:name/pause") { _, parameters in
            self.withSchedule(parameters["name"]) { name throws(TaskStoreError) in
                try control.pause(name).map { Self.json(200, ScheduleRepresentation.schedule($0, now: Self.now)) }
            }
        }
        router.add("POST", "/schedules/:name/resume") { _, parameters in
            self.withSchedule(parameters["name"]) { name throws(TaskStoreError) in
                try control.resume(name).map { Self.json(200, ScheduleRepresentation.schedule($0, now: Self.now)) }
            }
        }
        router.add("POST", "/schedules/:name/trigger") { _, parameters in
            self.withSchedule(parameters["name"]) { name throws(TaskStoreError) in
                try control.trigger(name, now: Self.now, store: store).map { task in
                    HTTPResponse(
                        status: 202,
                        headers: [("Content-Type", "application/json"), ("Location", "/tasks/" + task.id.rawValue)],
                        body: TaskRepresentation.task(task))
                }
            }
        }
    }

    private func put(_ request: HTTPRequest, _ raw: String?) -> HTTPResponse {
        guard let raw, let name = ScheduleName(raw) else {
            return Problem(
                status: 422, code: "invalid-field", title: "Invalid field",
                detail: "\(ScheduleName.rule), got \(raw ?? "")", field: "name"
            ).response
        }
        let definition: ScheduleDefinition
        do {
            definition = try ScheduleDefinition(body: request.body)
        } catch {
            // Unreadable JSON is a bad request; a readable definition that is wrong is unprocessable.
            var problem = Problem.invalid(error)
            if error.code != .malformedJSON { problem.status = 422 }
            return problem.response
        }
        if let text = definition.task.callbackURL, let url = CallbackURL(text), !callbackAllow.allows(url) {
            var problem = Problem.callbackNotAllowed(host: url.host, listEmpty: callbackAllow.isEmpty)
            problem.status = 422
            problem.field = "/task/callback_url"
            return problem.response
        }
        if var problem = gate.admit(definition.task.queue, field: "/task/queue") {
            if problem.status == 400 { problem.status = 422 }
            return problem.response
        }
        do throws(TaskStoreError) {
            switch try control.put(name, definition) {
            case .created(let record):
                var response = Self.json(201, ScheduleRepresentation.schedule(record, now: Self.now))
                response.headers.append(("Location", "/schedules/" + name.rawValue))
                return response
            case .updated(let record):
                return Self.json(200, ScheduleRepresentation.schedule(record, now: Self.now))
            case .full(let limit):
                return Problem(
                    status: 409, code: "too-many-schedules", title: "Too many schedules",
                    detail: "there are \(limit) schedules already, this gateway's --max-schedules; delete one first"
                )
                .response
            }
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    private func list(_ request: HTTPRequest) -> HTTPResponse {
        var limit = Self.defaultPage
        if let text = request.queryValue("limit") {
            guard let number = Int(text), (1...ScheduleControl.maxPage).contains(number) else {
                return Problem.invalidParameter(
                    "limit", "limit must be a whole number from 1 to \(ScheduleControl.maxPage), got \(text)"
                ).response
            }
            limit = number
        }
        var cursor: ScheduleName?
        if let text = request.queryValue("cursor") {
            guard let name = ScheduleName(text) else {
                return Problem.invalidParameter("cursor", "cursor must be a schedule name from next_cursor").response
            }
            cursor = name
        }
        do throws(TaskStoreError) {
            let page = try control.list(after: cursor, limit: limit)
            return Self.json(200, ScheduleRepresentation.page(page.schedules, next: page.next, now: Self.now))
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    /// Runs `body` for a valid name; a 404 when the name is malformed or `body` finds no such schedule.
    private func withSchedule(
        _ raw: String?, _ body: (ScheduleName) throws(TaskStoreError) -> HTTPResponse?
    ) -> HTTPResponse {
        guard let raw, let name = ScheduleName(raw) else {
            return Problem.notFound("no schedule \(raw ?? ""): \(ScheduleName.rule)").response
        }
        do throws(TaskStoreError) {
            return try body(name) ?? Problem.notFound("no schedule \(name)").response
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    private static var now: Int { Timestamp.now.milliseconds }

    private static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: value.serializedBytes)
    }
}

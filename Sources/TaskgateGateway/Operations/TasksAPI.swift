import TaskgateCore
import TaskgateHTTP

/// The task endpoints of the operator's surface: requeue, cancel and delete one task, requeue a queue's dead
/// tasks, and submit many tasks at once. Changes go through ``TaskControl``, the same code the CLI runs.
///
/// Cost per call: each change is one script on one task (a delete of a pending task also walks the pending
/// list, `LREM`); requeuing all dead tasks is one script per 100; a batch is one enqueue script per queue.
struct TasksAPI: Sendable {
    let control: TaskControl
    let store: any TaskStore
    let batchStore: RedisTaskStore
    /// The hosts a `callback_url` may name, checked per task as `POST /tasks` checks it.
    let callbackAllow: CallbackAllowList
    /// Which queues a batch may store to (``QueueGate``).
    let gate: QueueGate
    let idempotencyWindowMilliseconds: Int
    let retryAfterSeconds: Int
    /// Counts the tasks a batch stores.
    let metrics: GatewayMetrics?
    /// What a replayed idempotency key shows to the request's token.
    let replay: ReplayScope
    /// Takes a batch body that is a workflow (``WorkflowsAPI/isWorkflow(_:)``).
    let workflows: WorkflowsAPI

    /// The most tasks one `POST /tasks/batch` takes.
    static let maxBatch = 1_000

    /// Adds the routes to `router`.
    func register(on router: inout Router) {
        router.add("POST", "/tasks/batch") { request, _ in self.batch(request) }
        router.add("POST", "/tasks/:id/requeue") { _, parameters in
            self.change(parameters["id"], action: "requeue", hint: "only dead tasks are requeued") {
                id throws(TaskStoreError) in
                try control.requeue(id)
            }
        }
        router.add("POST", "/tasks/:id/cancel") { _, parameters in
            self.change(parameters["id"], action: "cancel", hint: "it has finished already") {
                id throws(TaskStoreError) in
                try control.cancel(id)
            }
        }
        router.add("DELETE", "/tasks/:id") { _, parameters in
            self.change(parameters["id"], action: "delete", hint: "cancel it first") { id throws(TaskStoreError) in
                try control.delete(id)
            }
        }
        router.add("POST", "/queues/:queue/dead/requeue") { _, parameters in
            guard let raw = parameters["queue"], let queue = QueueName(raw) else {
                return Problem.notFound("no queue \(parameters["queue"] ?? ""): queue names match [A-Za-z0-9._-]{1,64}")
                    .response
            }
            do throws(TaskStoreError) {
                let (requeued, remaining) = try control.requeueAllDead(in: queue)
                return Self.json(
                    200,
                    .object([
                        JSONMember("queue", .string(queue.rawValue)), JSONMember("requeued", .integer(requeued)),
                        JSONMember("dead_remaining", .integer(remaining)),
                    ]))
            } catch {
                return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
            }
        }
    }

    private func change(
        _ raw: String?, action: String, hint: String, _ body: (TaskID) throws(TaskStoreError) -> TaskControl.Outcome
    ) -> HTTPResponse {
        guard let raw, let id = TaskID(raw) else {
            return Problem.notFound("no task \(raw ?? ""): ids look like <queue>.<32 hex digits>").response
        }
        do throws(TaskStoreError) {
            switch try body(id) {
            case .unknown:
                return Problem.notFound("no task \(id): unknown, or expired after its retention time").response
            case .refused(let state):
                return Problem.stateConflict(id, action: action, state: state, hint: hint).response
            case .done(let was):
                guard let record = try store.task(id) else {
                    // Deleted: nothing left to show but what it was.
                    return Self.json(
                        200,
                        .object([
                            JSONMember("id", .string(id.rawValue)), JSONMember("deleted", .bool(true)),
                            JSONMember("was", was.map { .string($0.rawValue) } ?? .null),
                        ]))
                }
                return HTTPResponse(
                    status: 200, headers: [("Content-Type", "application/json")], body: TaskRepresentation.task(record))
            }
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    /// `POST /tasks/batch`: `{"tasks": [<task as POST /tasks takes it, plus an optional idempotency_key>, ...]}`;
    /// a workflow (tasks with `ref` or `after`, or a `batch`) goes to ``WorkflowsAPI`` and is stored whole.
    /// Answers 200 with one result per task, in order: `{"status": 202, "task": {...}}`, `{"status": 200,
    /// "task": {...}, "replayed": true}` for a repeated idempotency key, or `{"status": 4xx/5xx, "problem": {...}}`.
    private func batch(_ request: HTTPRequest) -> HTTPResponse {
        if request.header("idempotency-key") != nil {
            return Problem.invalidParameter(
                "Idempotency-Key",
                "POST /tasks/batch takes no Idempotency-Key header: give each task an idempotency_key field"
            ).response
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(request.body)
        } catch {
            return Problem.invalid(
                TaskValidationError(.malformedJSON, field: nil, "the body is not valid JSON: \(error)")
            ).response
        }
        if WorkflowsAPI.isWorkflow(document) { return workflows.submitGraph(document) }
        var items: [Result<(submission: TaskSubmission, idempotencyKey: IdempotencyKey?), Problem>]
        switch Self.parseBatch(document, callbackAllow: callbackAllow) {
        case .failure(let problem): return problem.response
        case .success(let parsed): items = parsed
        }
        // Each queue is admitted once (a refused one refuses each of its tasks, the problem naming its place).
        var admitted: [QueueName: Bool] = [:]
        for index in items.indices {
            guard case .success(let item) = items[index] else { continue }
            let queue = item.submission.queue
            let field = "/tasks/\(index)/queue"
            if let ok = admitted[queue] {
                if !ok, let problem = gate.admit(queue, field: field) { items[index] = .failure(problem) }
                continue
            }
            let problem = gate.admit(queue, field: field)
            admitted[queue] = problem == nil
            if let problem { items[index] = .failure(problem) }
        }
        let valid = items.compactMap { try? $0.get() }
        var outcomes = batchStore.enqueueBatch(valid, idempotencyWindowMilliseconds: idempotencyWindowMilliseconds)[...]
        var results: [JSONValue] = []
        results.reserveCapacity(items.count)
        for item in items {
            guard case .success = item else {
                if case .failure(let problem) = item { results.append(Self.result(problem)) }
                continue
            }
            let outcome = outcomes.removeFirst()
            switch outcome {
            case .success(.created(let record)):
                metrics?.accepted(record.queue)
                results.append(Self.result(202, record))
            case .success(.replayed(let record)):
                let shown =
                    replay.mayRead(request) ? TaskRepresentation.task(record) : TaskRepresentation.reference(record)
                results.append(
                    .object(
                        [
                            JSONMember("status", .integer(200)), JSONMember("replayed", .bool(true)),
                            JSONMember("task", .verbatim(String(decoding: shown, as: UTF8.self))),
                        ]))
            case .success(.keyReused(let existing)):
                results.append(
                    Self.result(Problem.idempotencyKeyReused(existing: replay.mayRead(request) ? existing : nil)))
            case .success(.replayedExpired(let id)):
                results.append(Self.result(Problem.idempotentTaskExpired(id)))
            case .failure(let error):
                results.append(Self.result(Problem.store(error, retryAfterSeconds: retryAfterSeconds)))
            }
        }
        return Self.json(200, .object([JSONMember("results", .array(results))]))
    }

    /// Each task of a batch body, parsed and checked on its own (a problem names its place, `/tasks/3/queue`).
    static func parseBatch(
        _ document: JSONValue, callbackAllow: CallbackAllowList
    ) -> Result<[Result<(submission: TaskSubmission, idempotencyKey: IdempotencyKey?), Problem>], Problem> {
        guard case .object(let members) = document, members.count == 1, members[0].name == "tasks",
            case .array(let tasks) = members[0].value
        else {
            return .failure(
                Problem.invalid(
                    TaskValidationError(.invalidField, field: "", #"the body must be {"tasks": [task, ...]}"#)))
        }
        guard (1...maxBatch).contains(tasks.count) else {
            return .failure(
                Problem.invalid(
                    TaskValidationError(
                        .invalidField, field: "/tasks", "tasks must hold 1 to \(maxBatch) tasks, got \(tasks.count)")))
        }
        return .success(
            tasks.enumerated().map { index, task in
                let place = "/tasks/\(index)"
                guard case .object(var fields) = task else {
                    return .failure(
                        Problem.invalid(
                            TaskValidationError(
                                .invalidField, field: place, "each task must be a JSON object, got \(task.typeName)")))
                }
                var key: IdempotencyKey?
                if let at = fields.firstIndex(where: { $0.name == "idempotency_key" }) {
                    guard case .string(let text) = fields[at].value, let parsed = IdempotencyKey(text) else {
                        return .failure(
                            Problem.invalid(
                                TaskValidationError(
                                    .invalidField, field: place + "/idempotency_key",
                                    "idempotency_key must be 1 to 255 printable ASCII characters")))
                    }
                    key = parsed
                    fields.remove(at: at)
                }
                return Self.submission(fields, place: place, callbackAllow: callbackAllow).map { ($0, key) }
            })
    }

    /// One task of a batch body (its own members, `idempotency_key` and `ref` taken out) checked as `POST /tasks`
    /// checks a body, its callback host included; a problem names the field under `place` (`/tasks/3/queue`).
    static func submission(
        _ fields: [JSONMember], place: String, callbackAllow: CallbackAllowList
    ) -> Result<TaskSubmission, Problem> {
        do throws(TaskValidationError) {
            let submission = try TaskSubmission(body: JSONValue.object(fields).serializedBytes)
            if let text = submission.callbackURL, let url = CallbackURL(text), !callbackAllow.allows(url) {
                var problem = Problem.callbackNotAllowed(host: url.host, listEmpty: callbackAllow.isEmpty)
                problem.field = place + "/callback_url"
                return .failure(problem)
            }
            return .success(submission)
        } catch {
            return .failure(
                Problem.invalid(TaskValidationError(error.code, field: place + (error.field ?? ""), error.message)))
        }
    }

    private static func result(_ status: Int, _ record: TaskRecord) -> JSONValue {
        .object([
            JSONMember("status", .integer(status)),
            JSONMember("task", .verbatim(String(decoding: TaskRepresentation.task(record), as: UTF8.self))),
        ])
    }

    private static func result(_ problem: Problem) -> JSONValue {
        .object([
            JSONMember("status", .integer(problem.status)),
            JSONMember(
                "problem",
                .verbatim(String(decoding: problem.response.body, as: UTF8.self))),
        ])
    }

    private static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: value.serializedBytes)
    }
}

import TaskgateCore
import TaskgateHTTP

/// The workflow surface: `POST /tasks` with `after`, `POST /tasks/batch` carrying a graph (`ref`, `after`) or a
/// batch, and `GET /batches/{id}` (with `?wait=` and `/events`). Everything is stored by
/// ``RedisTaskStore/storeWorkflow(_:graph:batch:retentionMilliseconds:workflowRetentionMilliseconds:)``: the
/// whole request or, when it is refused, nothing.
///
/// Cost: a request is checked whole before anything is stored (O(tasks + edges)), then one read round of the
/// parents outside it, one script per parent queue and per queue stored, one for the batch. A batch read is one
/// `HGETALL`.
struct WorkflowsAPI: Sendable {
    let store: RedisTaskStore
    /// The hosts a `callback_url` may name (each task's and the batch's).
    let callbackAllow: CallbackAllowList
    /// Which queues a request may store to.
    let gate: QueueGate?
    /// How long a task cancelled at once (a parent failed already) is kept.
    let retentionMilliseconds: Int
    /// How long a waiting task waits and a batch lives.
    let workflowRetentionMilliseconds: Int
    let retryAfterSeconds: Int
    /// Counts the tasks stored.
    let metrics: GatewayMetrics?
    /// Long-polls and streams of batches; `nil` when the gateway has no event hub.
    let notifications: NotificationsAPI?
    /// Tells a new child at once when a parent outside the request is final already (its queue's outbox holds it
    /// since the link step): the queue may have no worker left to drain it.
    var releaser: WorkflowReleaser? = nil

    /// The most tasks one workflow request takes.
    static let maxTasks = WorkflowLimits.maxBatchTasks

    /// Adds the batch routes to `router`.
    func register(on router: inout Router) {
        router.add(
            "GET", "/batches/:id",
            { request, parameters in
                if case .failure(let problem) = NotificationsAPI.wait(request) { return problem.response }
                return self.show(parameters["id"] ?? "")
            },
            deferred: { request, parameters, reply in
                let id = parameters["id"] ?? ""
                guard let notifications else { return reply.send(self.show(id)) }
                let store = self.store
                notifications.waitForBatch(
                    request, id: id, read: { try? store.batch(id) }, reply: reply, render: { self.show(id) })
            })
        router.add(
            "GET", "/batches/:id/events",
            { request, parameters in
                let id = parameters["id"] ?? ""
                guard request.method == "HEAD", let notifications else {
                    return Problem(
                        status: 501, code: "not-implemented", title: "Not implemented",
                        detail: "event streams are served by the gateway's HTTP server only"
                    ).response
                }
                return notifications.batchEventsHead(id: id) { () throws(TaskStoreError) in try store.batch(id) }
            },
            deferred: { request, parameters, reply in
                let id = parameters["id"] ?? ""
                guard let notifications else { return reply.send(self.show(id)) }
                let store = self.store
                notifications.batchEvents(
                    request, id: id, read: { () throws(TaskStoreError) in try store.batch(id) }, reply: reply)
            })
    }

    /// `GET /batches/{id}` now.
    private func show(_ id: String) -> HTTPResponse {
        do throws(TaskStoreError) {
            guard let record = try store.batch(id) else { return Problem.unknownBatch(id).response }
            return Self.json(200, record.json)
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    /// Whether a `POST /tasks/batch` body is a workflow: it has a `batch` member, or a task has a `ref` or
    /// parents (`after`). Anything else is a list of independent tasks, answered task by task.
    static func isWorkflow(_ document: JSONValue) -> Bool {
        guard case .object(let members) = document else { return false }
        for member in members {
            if member.name == "batch" { return true }
            guard member.name == "tasks", case .array(let tasks) = member.value else { continue }
            for case .object(let fields) in tasks {
                for field in fields {
                    if field.name == "ref" { return true }
                    if field.name == "after", case .array(let list) = field.value, !list.isEmpty { return true }
                }
            }
        }
        return false
    }

    /// `POST /tasks` with `after`: the task is stored waiting (or released at once, its parents done); `202`
    /// with the task, or `422` naming the parent that is not there.
    func submit(_ submission: TaskSubmission) -> HTTPResponse {
        let graph: TaskGraph
        do throws(TaskValidationError) {
            graph = try TaskGraph([TaskGraph.Entry(after: submission.after)])
        } catch {
            // One task: its fields are the body's own, not /tasks/0's.
            let field = error.field.map { $0.hasPrefix("/tasks/0") ? String($0.dropFirst("/tasks/0".count)) : $0 }
            return Problem.invalidWorkflow(TaskValidationError(error.code, field: field, error.message)).response
        }
        switch stored([submission], graph: graph, batch: nil) {
        case .failure(let problem): return problem.response
        case .success(let outcome):
            // Released (or cancelled) already when its parents were final: the answer says so.
            let record = (try? store.task(outcome.records[0].id)).flatMap { $0 } ?? outcome.records[0]
            return HTTPResponse(
                status: 202,
                headers: [("Content-Type", "application/json"), ("Location", "/tasks/" + record.id.rawValue)],
                body: TaskRepresentation.task(record))
        }
    }

    /// `POST /tasks/batch` as a workflow: `{"tasks": [...], "batch": {...}}`, each task as `POST /tasks` takes
    /// it plus an optional `ref` (the name other tasks of the request give in their `after`). Checked whole:
    /// any fault is the one answer (`400` for a task's field, `422` for the graph), with nothing stored. Answers
    /// `202` with `batch` (when asked for) and one `{"status": 202, "ref": ..., "task": {...}}` per task, in order.
    func submitGraph(_ document: JSONValue) -> HTTPResponse {
        guard case .object(let members) = document else { return Self.shapeProblem() }
        var list: [JSONValue]?
        var batch: BatchSpec?
        for member in members {
            switch member.name {
            case "tasks":
                guard case .array(let tasks) = member.value else { return Self.shapeProblem() }
                list = tasks
            case "batch":
                do throws(TaskValidationError) {
                    batch = try BatchSpec(member.value)
                } catch {
                    return Problem.invalid(error).response
                }
            default:
                return Problem.invalid(
                    TaskValidationError(
                        .unknownField, field: "/" + member.name.replacingPointerCharacters,
                        "unknown field \(member.name): a batch body has tasks and batch")
                ).response
            }
        }
        guard let tasks = list else { return Self.shapeProblem() }
        guard (1...Self.maxTasks).contains(tasks.count) else {
            return Problem.invalid(
                TaskValidationError(
                    .invalidField, field: "/tasks",
                    "a workflow request holds 1 to \(Self.maxTasks) tasks, got \(tasks.count)")
            ).response
        }
        if let text = batch?.callbackURL, let url = CallbackURL(text), !callbackAllow.allows(url) {
            var problem = Problem.callbackNotAllowed(host: url.host, listEmpty: callbackAllow.isEmpty)
            problem.field = "/batch/callback_url"
            return problem.response
        }
        var submissions: [TaskSubmission] = []
        var entries: [TaskGraph.Entry] = []
        var refs: [String?] = []
        submissions.reserveCapacity(tasks.count)
        for (index, task) in tasks.enumerated() {
            switch Self.task(task, place: "/tasks/\(index)", callbackAllow: callbackAllow) {
            case .failure(let problem): return problem.response
            case .success(let (submission, ref)):
                submissions.append(submission)
                entries.append(TaskGraph.Entry(ref: ref, after: submission.after))
                refs.append(ref)
            }
        }
        let graph: TaskGraph
        do throws(TaskValidationError) {
            graph = try TaskGraph(entries)
        } catch {
            return Problem.invalidWorkflow(error).response
        }
        var seen: Set<QueueName> = []
        for (index, submission) in submissions.enumerated() where seen.insert(submission.queue).inserted {
            if let problem = gate?.admit(submission.queue, field: "/tasks/\(index)/queue") { return problem.response }
        }
        switch stored(submissions, graph: graph, batch: batch) {
        case .failure(let problem): return problem.response
        case .success(let outcome):
            var members: [JSONMember] = []
            if let id = outcome.batch {
                let fallback = JSONValue.object([JSONMember("id", .string(id))]).serializedBytes
                let shown = (try? store.batch(id))?.json ?? fallback
                members.append(JSONMember("batch", .verbatim(String(decoding: shown, as: UTF8.self))))
            }
            let results: [JSONValue] = zip(outcome.records, refs).map { record, ref in
                var fields = [JSONMember("status", .integer(202))]
                if let ref { fields.append(JSONMember("ref", .string(ref))) }
                fields.append(
                    JSONMember("task", .verbatim(String(decoding: TaskRepresentation.task(record), as: UTF8.self))))
                return .object(fields)
            }
            members.append(JSONMember("results", .array(results)))
            return Self.json(202, JSONValue.object(members).serializedBytes)
        }
    }

    /// One task of a workflow request, checked as `POST /tasks` checks it; its `ref` taken out.
    private static func task(
        _ value: JSONValue, place: String, callbackAllow: CallbackAllowList
    ) -> Result<(TaskSubmission, String?), Problem> {
        guard case .object(var fields) = value else {
            return .failure(
                Problem.invalid(
                    TaskValidationError(
                        .invalidField, field: place, "each task must be a JSON object, got \(value.typeName)")))
        }
        if fields.contains(where: { $0.name == "idempotency_key" }) {
            return .failure(Problem.idempotencyKeyInWorkflow(field: place + "/idempotency_key"))
        }
        var ref: String?
        if let at = fields.firstIndex(where: { $0.name == "ref" }) {
            guard case .string(let text) = fields[at].value else {
                return .failure(
                    Problem.invalid(
                        TaskValidationError(
                            .invalidField, field: place + "/ref",
                            "ref must be a string: " + TaskGraph.refRule + ", got \(fields[at].value.typeName)")))
            }
            ref = text
            fields.remove(at: at)
        }
        return TasksAPI.submission(fields, place: place, callbackAllow: callbackAllow).map { ($0, ref) }
    }

    private func stored(
        _ submissions: [TaskSubmission], graph: TaskGraph, batch: BatchSpec?
    ) -> Result<(records: [TaskRecord], batch: String?), Problem> {
        do throws(WorkflowStoreError) {
            let outcome = try store.storeWorkflow(
                submissions, graph: graph, batch: batch, retentionMilliseconds: retentionMilliseconds,
                workflowRetentionMilliseconds: workflowRetentionMilliseconds)
            for record in outcome.records { metrics?.accepted(record.queue) }
            tellOutsideParents(graph)
            return .success(outcome)
        } catch {
            switch error {
            case .invalid(let invalid): return .failure(Problem.invalidWorkflow(invalid))
            case .store(let failure): return .failure(Problem.store(failure, retryAfterSeconds: retryAfterSeconds))
            }
        }
    }

    /// Drains the outboxes of the parents outside the request (their queues', and the batches' for a batch
    /// parent), so that a parent final before its child was stored releases it now. A failure leaves the entries
    /// to the next drainer. Cost: one pass per parent queue, nothing but an empty read when none is final.
    private func tellOutsideParents(_ graph: TaskGraph) {
        guard let releaser else { return }
        var queues = Set<QueueName>()
        var batches = false
        for parents in graph.parents {
            for parent in parents {
                switch parent {
                case .task(let id): queues.insert(id.queue)
                case .batch: batches = true
                case .sibling: break
                }
            }
        }
        guard !queues.isEmpty || batches else { return }
        _ = try? releaser.pass(Array(queues))
    }

    private static func shapeProblem() -> HTTPResponse {
        Problem.invalid(
            TaskValidationError(.invalidField, field: "", #"the body must be {"tasks": [task, ...], "batch": {...}}"#)
        ).response
    }

    private static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
}

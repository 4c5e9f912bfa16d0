import Logging
import TaskgateCore
import TaskgateHTTP

/// `POST /tasks`: the submission parsed and checked, stored through the enqueuer (or in place), or as a workflow
/// task when it has parents, and the answer shaped (a replay as ``ReplayScope`` lets the token see it).
extension GatewayResponder {
    /// `POST /tasks` through the pipelined enqueuer: the request waits for its batch without holding a thread.
    static func enqueue(
        _ request: HTTPRequest, through enqueuer: any TaskEnqueuing, window: Int, callbackAllow: CallbackAllowList,
        gate: QueueGate?, metrics: GatewayMetrics?, replay: ReplayScope, workflows: WorkflowsAPI?, logger: Logger,
        reply: HTTPReply
    ) {
        let parsed: (TaskSubmission, IdempotencyKey?)
        switch Self.submission(from: request, callbackAllow: callbackAllow) {
        case .success(let value): parsed = value
        case .failure(let problem):
            reply.send(problem.response)
            return
        }
        // Registered before its first task is stored (a no-op after that), or refused: see QueueGate.
        if let problem = gate?.admit(parsed.0.queue) {
            reply.send(problem.response)
            return
        }
        if !parsed.0.after.isEmpty {
            reply.send(Self.workflowTask(parsed.0, idempotencyKey: parsed.1, workflows: workflows))
            return
        }
        enqueuer.enqueue(parsed.0, idempotencyKey: parsed.1, idempotencyWindowMilliseconds: window) { outcome in
            reply.send { Self.answer(outcome(), request, metrics: metrics, replay: replay, logger: logger) }
        }
    }

    static func createTask(
        _ request: HTTPRequest, store: any TaskStore, window: Int, callbackAllow: CallbackAllowList,
        gate: QueueGate?, metrics: GatewayMetrics?, replay: ReplayScope, workflows: WorkflowsAPI?, logger: Logger
    ) -> HTTPResponse {
        switch submission(from: request, callbackAllow: callbackAllow) {
        case .failure(let problem):
            return problem.response
        case .success(let (submission, idempotencyKey)):
            if let problem = gate?.admit(submission.queue) { return problem.response }
            if !submission.after.isEmpty {
                return workflowTask(submission, idempotencyKey: idempotencyKey, workflows: workflows)
            }
            let outcome: Result<EnqueueOutcome, TaskStoreError>
            do {
                outcome = .success(
                    try store.enqueue(
                        submission, idempotencyKey: idempotencyKey, idempotencyWindowMilliseconds: window))
            } catch {
                outcome = .failure(error)
            }
            return answer(outcome, request, metrics: metrics, replay: replay, logger: logger)
        }
    }

    /// `POST /tasks` with `after`, stored by ``WorkflowsAPI``: never through the enqueuer, whose script knows
    /// nothing of parents.
    static func workflowTask(
        _ submission: TaskSubmission, idempotencyKey: IdempotencyKey?, workflows: WorkflowsAPI?
    ) -> HTTPResponse {
        if idempotencyKey != nil { return Problem.idempotencyKeyInWorkflow(field: "Idempotency-Key").response }
        guard let workflows else {
            return Problem(
                status: 501, code: "not-implemented", title: "Not implemented",
                detail: "tasks with after are served by the gateway with its operator's seam; nothing was stored"
            ).response
        }
        return workflows.submit(submission)
    }

    /// The submission and idempotency key of a `POST /tasks`, or the problem with them.
    static func submission(
        from request: HTTPRequest, callbackAllow: CallbackAllowList
    ) -> Result<(TaskSubmission, IdempotencyKey?), Problem> {
        var idempotencyKey: IdempotencyKey?
        if let raw = request.header("idempotency-key") {
            guard let key = IdempotencyKey(raw) else { return .failure(Problem.invalidIdempotencyKey()) }
            idempotencyKey = key
        }
        let submission: TaskSubmission
        do {
            submission = try TaskSubmission(body: request.body)
        } catch {
            return .failure(Problem.invalid(error))
        }
        if let text = submission.callbackURL, let url = CallbackURL(text), !callbackAllow.allows(url) {
            return .failure(Problem.callbackNotAllowed(host: url.host, listEmpty: callbackAllow.isEmpty))
        }
        return .success((submission, idempotencyKey))
    }

    /// The answer to a `POST /tasks` once the store has spoken; a replay shows what ``ReplayScope`` lets the
    /// request's token see.
    static func answer(
        _ outcome: Result<EnqueueOutcome, TaskStoreError>, _ request: HTTPRequest, metrics: GatewayMetrics?,
        replay: ReplayScope, logger: Logger
    ) -> HTTPResponse {
        switch outcome {
        case .success(.created(let record)):
            metrics?.accepted(record.queue)
            return taskCreated(record, status: 202)
        case .success(.replayed(let record)):
            var response = taskCreated(record, status: 200, whole: replay.mayRead(request))
            response.headers.append(("Idempotent-Replayed", "true"))
            return response
        case .success(.keyReused(let existing)):
            return Problem.idempotencyKeyReused(existing: replay.mayRead(request) ? existing : nil).response
        case .success(.replayedExpired(let id)):
            return Problem.idempotentTaskExpired(id).response
        case .failure(let error):
            logger.warning("enqueue failed", metadata: ["error": "\(error)"])
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    static func taskCreated(_ record: TaskRecord, status: Int, whole: Bool = true) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "application/json"), ("Location", "/tasks/" + record.id.rawValue)],
            body: whole ? TaskRepresentation.task(record) : TaskRepresentation.reference(record))
    }
}

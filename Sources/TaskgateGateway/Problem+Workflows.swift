import TaskgateCore
import TaskgateHTTP

extension Problem {
    /// 422 for a workflow that cannot be stored as asked: a parent that is not there, a cycle, a task waiting
    /// for itself, a `ref` that names nothing or twice; `field` names the place (`/tasks/3/after/0`).
    public static func invalidWorkflow(_ error: TaskValidationError) -> Problem {
        Problem(
            status: 422, code: "invalid-workflow", title: "Invalid workflow",
            detail: error.message + "; nothing was stored", field: error.field)
    }

    /// 422 for an idempotency key on a task with parents or in a batch: the request is one whole, which a
    /// per-task key cannot replay.
    public static func idempotencyKeyInWorkflow(field: String) -> Problem {
        Problem(
            status: 422, code: "idempotency-key-in-workflow", title: "Idempotency key in a workflow",
            detail:
                "a task with after, a ref or a batch is stored with its whole request, which an idempotency key "
                + "does not replay: send the request without one; nothing was stored",
            field: field)
    }

    /// 404 for an unknown or expired batch.
    public static func unknownBatch(_ id: String) -> Problem {
        notFound("no batch \(id): unknown, or expired after its retention time")
    }
}

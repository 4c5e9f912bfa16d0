import TaskgateCore
import TaskgateHTTP

extension NotificationsAPI {
    /// `GET /batches/{id}?wait=SECONDS`: answers once the batch is complete, or as it stands when the wait ends;
    /// without `wait`, at once. `read` reads the batch (`nil` when it is gone or unreadable), `render` builds the
    /// answer. Cost: one subscription (the batches' one channel, shared by every batch listener) and two reads.
    func waitForBatch(
        _ request: HTTPRequest, id: String, read: @escaping @Sendable () -> BatchRecord?, reply: HTTPReply,
        render: @escaping @Sendable () -> HTTPResponse
    ) {
        let seconds: Int
        switch Self.wait(request) {
        case .failure(let problem): return reply.send(problem.response)
        case .success(nil): return reply.send(render())
        case .success(let asked?): seconds = asked
        }
        guard budget.reserve(LongPollWaiter.budgetCost) else {
            return reply.send(Problem.overloaded(retryAfterSeconds: retryAfterSeconds).response)
        }
        let hub = self.hub
        let waiter = LongPollWaiter(
            hub: hub, budget: budget, register: { hub.register($0, batch: id) },
            isFinal: { read()?.complete ?? true }, answer: { reply.send(render()) })
        guard waiter.subscribe() else {
            budget.release(LongPollWaiter.budgetCost)
            return reply.send(unavailable())
        }
        guard let record = read(), !record.complete else { return waiter.respond() }
        waiter.expire(after: seconds)
    }

    /// `GET /batches/{id}/events`: a `snapshot` of the batch, then its `batch_progress` events and the one
    /// `batch_completed`, which ends the stream. Cost: one subscription (shared) and one read.
    func batchEvents(
        _ request: HTTPRequest, id: String, read: @escaping @Sendable () throws(TaskStoreError) -> BatchRecord?,
        reply: HTTPReply
    ) {
        let hub = self.hub
        openSnapshotStream(
            { BatchEventStream(id: id, stream: $0, hub: hub, read: { try? read() }) }, read: read,
            missing: { Problem.unknownBatch(id).response }, comment: "batch \(id)", reply: reply)
    }

    /// `HEAD /batches/{id}/events`: the head a stream would open with, or the problem it would get. Cost: one
    /// read; nothing is subscribed or held.
    func batchEventsHead(id: String, read: () throws(TaskStoreError) -> BatchRecord?) -> HTTPResponse {
        do {
            guard try read() != nil else { return Problem.unknownBatch(id).response }
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
        guard !hub.isStopping else { return unavailable() }
        return HTTPResponse(status: 200, headers: ServerSentEvent.headers)
    }
}

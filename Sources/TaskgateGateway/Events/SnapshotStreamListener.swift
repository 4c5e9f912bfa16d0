import TaskgateCore
import TaskgateHTTP

/// A stream that starts with a snapshot of what it follows (a task, a batch), then writes its changes: subscribed
/// before the snapshot is read, so that no change falls between the two.
protocol SnapshotStreamListener: EventListener {
    /// What the snapshot shows.
    associatedtype Record
    /// Subscribes; `false` when the hub could not (Redis down, or stopping).
    func subscribe() -> Bool
    /// Unsubscribes without having started (nothing to show, or the store failed).
    func cancel()
    /// Writes the snapshot, then whatever arrived while it was read.
    func start(with record: Record)
}

extension NotificationsAPI {
    /// Opens a snapshot stream on `reply`: a stream within the memory budget, `listener` subscribed, then `read`
    /// for the snapshot. Answers the overload, the unavailable hub, the store's problem or `missing` (nothing to
    /// follow) instead, with nothing left subscribed. Cost: one subscription and one read.
    func openSnapshotStream<Listener: SnapshotStreamListener>(
        _ make: (HTTPStream) -> Listener, read: () throws(TaskStoreError) -> Listener.Record?,
        missing: () -> HTTPResponse, comment: String, reply: HTTPReply
    ) {
        guard let stream = HTTPStream(limit: streamBufferBytes, budget: budget) else {
            return reply.send(Problem.overloaded(retryAfterSeconds: retryAfterSeconds).response)
        }
        let listener = make(stream)
        guard listener.subscribe() else {
            stream.discard()
            return reply.send(unavailable())
        }
        let record: Listener.Record?
        do {
            record = try read()
        } catch {
            listener.cancel()
            stream.discard()
            return reply.send(Problem.store(error, retryAfterSeconds: retryAfterSeconds).response)
        }
        guard let record else {
            listener.cancel()
            stream.discard()
            return reply.send(missing())
        }
        stream.write(ServerSentEvent.opening(comment))
        listener.start(with: record)
        reply.send(HTTPResponse(status: 200, headers: ServerSentEvent.headers, stream: stream))
    }
}

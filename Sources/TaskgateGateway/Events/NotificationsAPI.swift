import TaskgateCore
import TaskgateHTTP

/// The endpoints that tell clients when tasks change: the two event streams and the long-poll.
///
/// Each subscribes through the gateway's one ``EventHub`` before it reads anything, holds no thread while
/// it waits, and is charged in the server's ``MemoryBudget`` (a stream its buffer and a fixed cost, a
/// long-poll ``LongPollWaiter/budgetCost``).
public struct NotificationsAPI: Sendable {
    let store: any TaskStore
    let hub: EventHub
    let budget: MemoryBudget
    /// The most bytes buffered for one slow stream client before its stream is closed.
    let streamBufferBytes: Int
    /// Seconds a refused client is asked to wait.
    let retryAfterSeconds: Int
    /// Which queues a queue stream may follow: registered ones (and allowed ones); `nil` for any.
    let gate: QueueGate?

    /// Creates the endpoints over the gateway's store, hub and the server's memory budget; with `gate`, queue
    /// streams follow registered queues only (a name no task or worker ever used is a `404`, not a subscription).
    public init(
        store: any TaskStore, hub: EventHub, budget: MemoryBudget, streamBufferBytes: Int, retryAfterSeconds: Int,
        gate: QueueGate? = nil
    ) {
        self.gate = gate
        self.store = store
        self.hub = hub
        self.budget = budget
        self.streamBufferBytes = streamBufferBytes
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The longest `wait` accepted, in seconds.
    static let maxWaitSeconds = 60

    /// `GET /tasks/{id}/events`. Cost: one subscription (shared per queue) and one record read.
    func taskEvents(_ request: HTTPRequest, id rawID: String?, reply: HTTPReply) {
        guard let id = rawID.flatMap(TaskID.init) else {
            return reply.send(Self.unknownTask(rawID))
        }
        let store = self.store
        let hub = self.hub
        openSnapshotStream(
            { TaskEventStream(id: id, stream: $0, hub: hub, store: store) },
            read: { () throws(TaskStoreError) in try store.task(id) }, missing: { Self.unknownTask(rawID) },
            comment: "task \(id)", reply: reply)
    }

    /// `GET /queues/{queue}/events`. Cost: one subscription (shared per queue); no read.
    func queueEvents(_ request: HTTPRequest, queue rawQueue: String?, reply: HTTPReply) {
        guard let queue = rawQueue.flatMap(QueueName.init) else {
            return reply.send(Self.unknownQueue(rawQueue))
        }
        if let problem = gate?.known([queue]) { return reply.send(problem.response) }
        openQueueStream([queue], comment: "queue \(queue.rawValue)", reply: reply)
    }

    /// The most queues one `GET /events` follows: a page of `GET /queues` at its largest.
    static let maxStreamQueues = QueueInspector.maxPage

    /// `GET /events?queue=A&queue=B...`: the events of several queues on one connection, so that a page showing
    /// many queues holds one stream, not one per queue (a browser opens at most six HTTP/1.1 connections to a
    /// host). Every queue must be registered (else `404` for the first that is not, and nothing is subscribed):
    /// names no one uses cost no subscription. Cost: one `ZMSCORE` for the queues this gateway does not know, then
    /// one subscription per queue (shared with every other listener of it), all sent and confirmed together.
    func events(_ request: HTTPRequest, reply: HTTPReply) {
        switch Self.streamQueues(request) {
        case .failure(let problem): reply.send(problem.response)
        case .success(let queues):
            if let problem = gate?.known(queues) { return reply.send(problem.response) }
            openQueueStream(queues, comment: "queues " + queues.map(\.rawValue).joined(separator: " "), reply: reply)
        }
    }

    /// `HEAD /events`: the head the stream would open with, or the problem it would get. Cost: one `PING`, and
    /// one `ZMSCORE` for queues this gateway does not know.
    func eventsHead(_ request: HTTPRequest) -> HTTPResponse {
        switch Self.streamQueues(request) {
        case .failure(let problem): return problem.response
        case .success(let queues): if let problem = gate?.known(queues) { return problem.response }
        }
        guard !hub.isStopping, (try? store.ping()) != nil else { return unavailable() }
        return HTTPResponse(status: 200, headers: ServerSentEvent.headers)
    }

    /// The `queue` arguments of `GET /events`, each once in the order given, or the `400 invalid-parameter` for
    /// none, a bad name or more than ``maxStreamQueues``.
    static func streamQueues(_ request: HTTPRequest) -> Result<[QueueName], Problem> {
        var queues: [QueueName] = []
        var seen: Set<QueueName> = []
        for argument in request.query where argument.name == "queue" {
            guard let queue = QueueName(argument.value) else {
                return .failure(
                    Problem.invalidParameter(
                        "queue", "queue must be a queue name ([A-Za-z0-9._-]{1,64}), got \(argument.value)"))
            }
            if seen.insert(queue).inserted { queues.append(queue) }
        }
        guard !queues.isEmpty else {
            return .failure(Problem.invalidParameter("queue", "name at least one queue: /events?queue=NAME"))
        }
        guard queues.count <= maxStreamQueues else {
            return .failure(
                Problem.invalidParameter(
                    "queue", "one stream follows at most \(maxStreamQueues) queues, got \(queues.count)"))
        }
        return .success(queues)
    }

    private func openQueueStream(_ queues: [QueueName], comment: String, reply: HTTPReply) {
        guard let stream = HTTPStream(limit: streamBufferBytes, budget: budget) else {
            return reply.send(Problem.overloaded(retryAfterSeconds: retryAfterSeconds).response)
        }
        let listener = QueueEventStream(queues: queues, stream: stream, hub: hub)
        guard listener.subscribe() else {
            stream.discard()
            return reply.send(unavailable())
        }
        stream.write(ServerSentEvent.opening(comment))
        reply.send(HTTPResponse(status: 200, headers: ServerSentEvent.headers, stream: stream))
    }

    /// `GET /tasks/{id}?wait=SECONDS`; without `wait`, `now` answers at once. `render` reads the record and
    /// builds the answer (the same as without `wait`). Cost: one subscription (shared per queue) and two
    /// record reads (before waiting, and for the answer).
    func waitForTask(
        _ request: HTTPRequest, id rawID: String?, reply: HTTPReply, render: @escaping @Sendable () -> HTTPResponse
    ) {
        let seconds: Int
        switch Self.wait(request) {
        case .failure(let problem): return reply.send(problem.response)
        case .success(nil): return reply.send(render())
        case .success(let asked?): seconds = asked
        }
        guard let id = rawID.flatMap(TaskID.init) else { return reply.send(render()) }
        guard budget.reserve(LongPollWaiter.budgetCost) else {
            return reply.send(Problem.overloaded(retryAfterSeconds: retryAfterSeconds).response)
        }
        let store = self.store
        let hub = self.hub
        let waiter = LongPollWaiter(
            hub: hub, budget: budget, register: { hub.register($0, queue: id.queue, task: id) },
            isFinal: { (try? store.task(id))?.state.isFinal ?? true },
            answer: { reply.send(render()) })
        guard waiter.subscribe() else {
            budget.release(LongPollWaiter.budgetCost)
            return reply.send(unavailable())
        }
        do {
            guard let record = try store.task(id), !record.state.isFinal else { return waiter.respond() }
        } catch {
            return waiter.respond()
        }
        waiter.expire(after: seconds)
    }

    /// The `wait` of `GET /tasks/{id}` in seconds (`nil` when absent), or the `400 invalid-parameter` for one
    /// that is not a whole number from 1 to ``maxWaitSeconds``. Read for every answer, waiting or not (a `HEAD`).
    static func wait(_ request: HTTPRequest) -> Result<Int?, Problem> {
        guard let text = request.queryValue("wait") else { return .success(nil) }
        if let seconds = Int(text), (1...maxWaitSeconds).contains(seconds) { return .success(seconds) }
        return .failure(
            Problem.invalidParameter(
                "wait", "wait must be a whole number of seconds from 1 to \(maxWaitSeconds), got \(text)"))
    }

    /// `HEAD /tasks/{id}/events`: the head a stream would open with, or the problem it would get. Cost: one
    /// record read; nothing is subscribed or held.
    func taskEventsHead(id rawID: String?) -> HTTPResponse {
        guard let id = rawID.flatMap(TaskID.init) else { return Self.unknownTask(rawID) }
        do {
            guard try store.task(id) != nil else { return Self.unknownTask(rawID) }
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
        return HTTPResponse(status: 200, headers: ServerSentEvent.headers)
    }

    /// `HEAD /queues/{queue}/events`: the head a stream would open with, or the problem it would get (a bad
    /// name; Redis unavailable or the gateway stopping, as for a subscription). Cost: one `PING`.
    func queueEventsHead(queue rawQueue: String?) -> HTTPResponse {
        guard let queue = rawQueue.flatMap(QueueName.init) else { return Self.unknownQueue(rawQueue) }
        if let problem = gate?.known([queue]) { return problem.response }
        guard !hub.isStopping, (try? store.ping()) != nil else { return unavailable() }
        return HTTPResponse(status: 200, headers: ServerSentEvent.headers)
    }

    func unavailable() -> HTTPResponse {
        if hub.isFull { return Problem.tooManySubscriptions(retryAfterSeconds: retryAfterSeconds).response }
        return Problem.eventsUnavailable(stopping: hub.isStopping, retryAfterSeconds: retryAfterSeconds).response
    }

    private static func unknownQueue(_ rawQueue: String?) -> HTTPResponse {
        Problem.notFound("no queue \(rawQueue ?? ""): names match [A-Za-z0-9._-]{1,64}").response
    }

    private static func unknownTask(_ rawID: String?) -> HTTPResponse {
        guard let rawID, TaskID(rawID) != nil else {
            return Problem.notFound("no task \(rawID ?? ""): ids look like <queue>.<32 hex digits>").response
        }
        return Problem.notFound("no task \(rawID): unknown, or expired after its retention time").response
    }
}

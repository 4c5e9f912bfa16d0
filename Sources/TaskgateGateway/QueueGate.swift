import TaskgateCore

/// Which queues clients may use through this gateway: those of `--queues` when it is given, and new ones only
/// while the registry has room (``QueueRegistry/admit(_:)``, `--max-queues`).
///
/// Asked before a task is stored (`POST /tasks`, each queue of a batch) and before a pull claim or an event
/// stream is served (``known(_:)``). Cost: nothing for a queue this process has registered already; one script
/// call for a new one.
public struct QueueGate: Sendable {
    /// The registry that bounds and lists the queues.
    public let registry: QueueRegistry
    /// The only queues clients may use; `nil` for any.
    public let allowed: Set<QueueName>?

    /// Creates the gate; `allowed` limits clients to those queues.
    public init(registry: QueueRegistry, allowed: Set<QueueName>? = nil) {
        self.registry = registry
        self.allowed = allowed
    }

    /// The problem that refuses a client's task to `queue` (not allowed: 400; a new queue past the bound: 409), or
    /// `nil` once the queue is registered.
    func admit(_ queue: QueueName, field: String? = "/queue") -> Problem? {
        if let allowed, !allowed.contains(queue) { return Problem.queueNotAllowed(queue, field: field) }
        if case .full(let limit) = registry.admit(queue) {
            return Problem.tooManyQueues(queue, limit: limit, field: field)
        }
        return nil
    }

    /// The problem that refuses a claim or a stream on `queues` because one is not allowed or not registered
    /// (404: no task was ever stored to it through a gateway and no worker serves it), or `nil`. One `ZMSCORE` at
    /// most, for those this process does not know.
    func known(_ queues: [QueueName]) -> Problem? {
        if let allowed, let refused = queues.first(where: { !allowed.contains($0) }) {
            return Problem.queueNotAllowed(refused, field: nil)
        }
        return registry.unregistered(queues).first.map(Problem.unknownQueue)
    }
}

import Synchronization
import TaskgateCore
import TaskgateHTTP

/// `GET /queues/{queue}/events`: every event of one queue as it is published, for dashboards and operators.
///
/// A live feed: it starts with what happens after it opened and has no snapshot, so a client that must not
/// miss a change reads the records (or each task's own stream). The `id:` of a task's event is
/// `<task id>/<seq>`. A change to the queue's settings comes as an event named `paused`, `resumed` or `limits`
/// with the settings after it as data, and no `id:` (it is not a task's).
final class QueueEventStream: EventListener {
    let stream: HTTPStream
    private let queue: QueueName
    private let hub: EventHub
    private let registration = Mutex<EventHub.Registration?>(nil)

    init(queue: QueueName, stream: HTTPStream, hub: EventHub) {
        self.queue = queue
        self.stream = stream
        self.hub = hub
    }

    /// Subscribes; `false` when the hub could not (Redis down, or stopping).
    func subscribe() -> Bool {
        guard let registration = hub.register(self, queue: queue, task: nil) else { return false }
        self.registration.withLock { $0 = registration }
        stream.onClose { [weak self] in self?.end() }
        return true
    }

    func receive(_ event: TaskEvent) {
        let written = stream.write(
            ServerSentEvent.event(
                id: event.id.rawValue + "/" + String(event.sequence), name: event.kind, data: event.json))
        if !written { end() }
    }

    func receive(queueEvent event: QueueEvent) {
        if !stream.write(ServerSentEvent.event(name: event.kind, data: event.json)) { end() }
    }

    /// Nothing to catch up on: the feed is live only.
    func resync() {}

    func tick() {
        stream.write(ServerSentEvent.keepAlive)
    }

    func close() {
        stream.finish()
        end()
    }

    private func end() {
        registration.withLock { current -> EventHub.Registration? in
            defer { current = nil }
            return current
        }.map(hub.unregister)
    }
}

import Synchronization
import TaskgateCore
import TaskgateHTTP

/// `GET /queues/{queue}/events` and `GET /events?queue=...`: every event of one queue, or of several on one
/// connection, as it is published, for dashboards and operators.
///
/// A live feed: it starts with what happens after it opened and has no snapshot, so a client that must not
/// miss a change reads the records (or each task's own stream). The `id:` of a task's event is
/// `<task id>/<seq>`. A change to the queue's settings comes as an event named `paused`, `resumed` or `limits`
/// with the settings after it as data, and no `id:` (it is not a task's). Every event's data names its queue.
final class QueueEventStream: EventListener {
    let stream: HTTPStream
    private let queues: [QueueName]
    private let hub: EventHub
    private let registrations = Mutex<[EventHub.Registration]>([])

    init(queues: [QueueName], stream: HTTPStream, hub: EventHub) {
        self.queues = queues
        self.stream = stream
        self.hub = hub
    }

    /// Subscribes to every queue's channel; `false` when the hub could not subscribe one of them (Redis down, or
    /// stopping), and then none stays registered.
    func subscribe() -> Bool {
        guard let made = hub.register(self, queues: queues) else {
            end()
            return false
        }
        registrations.withLock { $0.append(contentsOf: made) }
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
        registrations.withLock { current -> [EventHub.Registration] in
            defer { current = [] }
            return current
        }.forEach(hub.unregister)
    }
}

import Dispatch
import Synchronization
import TaskgateCore
import TaskgateHTTP

/// `GET /batches/{id}/events`: the batch as it stands (`snapshot`), then `batch_progress` each time tasks of it
/// are counted and `batch_completed` once, which ends the stream.
///
/// Subscribed before the snapshot is read, so no change falls between the two: events that arrive while it is
/// read are held and sent after it (a progress event the snapshot covers already repeats counts it shows, which
/// changes nothing for a client that shows the latest). A completed snapshot ends the stream at once.
final class BatchEventStream: SnapshotStreamListener {
    private struct State {
        var started = false
        var held: [BatchEvent] = []
        var registration: EventHub.Registration?
        var ended = false
    }

    let stream: HTTPStream
    private let id: String
    private let hub: EventHub
    private let read: @Sendable () -> BatchRecord?
    private let state = Mutex(State())

    /// `read` reads the batch again after a resync (`nil` when it is gone or unreadable).
    init(id: String, stream: HTTPStream, hub: EventHub, read: @escaping @Sendable () -> BatchRecord?) {
        self.id = id
        self.stream = stream
        self.hub = hub
        self.read = read
    }

    /// Subscribes; `false` when the hub could not (Redis down, or stopping).
    func subscribe() -> Bool {
        guard let registration = hub.register(self, batch: id) else { return false }
        let endedAlready = state.withLock { state -> Bool in
            state.registration = registration
            return state.ended
        }
        if endedAlready { hub.unregister(registration) }
        stream.onClose { [weak self] in self?.end() }
        return true
    }

    /// Writes the snapshot, then whatever arrived meanwhile.
    func start(with record: BatchRecord) {
        let final = state.withLock { state -> Bool in
            state.started = true
            stream.write(ServerSentEvent.event(id: nil, name: "snapshot", data: record.json))
            var final = record.complete
            for event in state.held where !final {
                final = write(event)
            }
            state.held = []
            return final
        }
        if final { finish() }
    }

    /// Unsubscribes without having started (the batch was not found, or the store failed).
    func cancel() {
        end()
    }

    func receive(batchEvent event: BatchEvent) {
        let final = state.withLock { state -> Bool in
            guard state.started else {
                state.held.append(event)
                return false
            }
            return state.ended ? false : write(event)
        }
        if final { finish() }
    }

    func resync() {
        DispatchQueue.global().async { [self] in
            guard let record = read() else { return }
            let final = state.withLock { state -> Bool in
                guard state.started, !state.ended else { return false }
                stream.write(ServerSentEvent.event(id: nil, name: "snapshot", data: record.json))
                return record.complete
            }
            if final { finish() }
        }
    }

    func tick() {
        stream.write(ServerSentEvent.keepAlive)
    }

    func close() {
        finish()
    }

    /// Writes an event; returns whether it was the completion.
    private func write(_ event: BatchEvent) -> Bool {
        stream.write(ServerSentEvent.event(id: nil, name: event.kind, data: event.json))
        return event.isFinal
    }

    private func finish() {
        stream.finish()
        end()
    }

    private func end() {
        let registration = state.withLock { state -> EventHub.Registration? in
            state.ended = true
            defer { state.registration = nil }
            return state.registration
        }
        registration.map(hub.unregister)
    }
}

import Dispatch
import Synchronization
import TaskgateCore
import TaskgateHTTP

/// `GET /tasks/{id}/events`: the task's current state, then each change in order, ending after a final state.
///
/// Subscribed before the snapshot is read, so no change falls between the two: events that arrive while the
/// snapshot is read are held, and those it already covers (by sequence number) are dropped. Every event
/// carries the task's sequence number as its `id:`; a client reconnecting with `Last-Event-ID` gets a fresh
/// snapshot and only what follows it.
final class TaskEventStream: SnapshotStreamListener {
    private struct State {
        var started = false
        var held: [TaskEvent] = []
        var lastSent = 0
        var registration: EventHub.Registration?
        var ended = false
    }

    let stream: HTTPStream
    private let id: TaskID
    private let hub: EventHub
    private let store: any TaskStore
    private let state = Mutex(State())

    init(id: TaskID, stream: HTTPStream, hub: EventHub, store: any TaskStore) {
        self.id = id
        self.stream = stream
        self.hub = hub
        self.store = store
    }

    /// Subscribes; `false` when the hub could not (Redis down, or stopping).
    func subscribe() -> Bool {
        guard let registration = hub.register(self, queue: id.queue, task: id) else { return false }
        let endedAlready = state.withLock { state -> Bool in
            state.registration = registration
            return state.ended
        }
        if endedAlready { hub.unregister(registration) }
        stream.onClose { [weak self] in self?.end() }
        return true
    }

    /// Writes the snapshot, then whatever arrived meanwhile that it does not cover.
    func start(with record: TaskRecord) {
        let final = state.withLock { state -> Bool in
            state.started = true
            write(snapshot: record, in: &state)
            var final = record.state.isFinal
            for event in state.held where !final {
                final = write(event, in: &state)
            }
            state.held = []
            return final
        }
        if final { finish() }
    }

    /// Unsubscribes without having started (the task was not found, or the store failed).
    func cancel() {
        end()
    }

    func receive(_ event: TaskEvent) {
        let final = state.withLock { state -> Bool in
            guard state.started else {
                state.held.append(event)
                return false
            }
            return write(event, in: &state)
        }
        if final { finish() }
    }

    func resync() {
        DispatchQueue.global().async { [self] in
            guard let record = try? store.task(id) else { return }
            let final = state.withLock { state -> Bool in
                guard state.started, !state.ended, record.sequence > state.lastSent else { return false }
                write(snapshot: record, in: &state)
                return record.state.isFinal
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

    /// Writes an event the client has not seen; returns whether it was final.
    private func write(_ event: TaskEvent, in state: inout State) -> Bool {
        guard event.sequence > state.lastSent else { return false }
        state.lastSent = event.sequence
        stream.write(ServerSentEvent.event(id: String(event.sequence), name: event.kind, data: event.json))
        return event.isFinal
    }

    private func write(snapshot record: TaskRecord, in state: inout State) {
        state.lastSent = max(state.lastSent, record.sequence)
        stream.write(
            ServerSentEvent.event(
                id: String(record.sequence), name: "snapshot", data: TaskRepresentation.task(record)))
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

import Synchronization

/// Group commit per queue: while up to `maxInFlight` batches of a queue are on their way to Redis, new entries
/// gather, and the next batch takes all of them (up to `maxBatch`) when one comes back.
///
/// No timer is involved: under light load an entry is sent at once, alone. Batches are per queue because one
/// script call may touch the keys of one queue (one hash slot) only.
final class GroupCommit<Entry: Sendable>: Sendable {
    /// Sends one batch; must call `done` exactly once, after the batch's outcome has been delivered.
    typealias Send = @Sendable (_ batch: [Entry], _ queue: QueueName, _ done: @escaping @Sendable () -> Void) -> Void

    private struct State {
        var waiting: [QueueName: [Entry]] = [:]
        var inFlight: [QueueName: Int] = [:]
    }

    private let maxBatch: Int
    private let maxInFlight: Int
    private let send: Send
    private let state = Mutex(State())

    init(maxBatch: Int = 256, maxInFlight: Int = 1, send: @escaping Send) {
        self.maxBatch = max(1, maxBatch)
        self.maxInFlight = max(1, maxInFlight)
        self.send = send
    }

    /// Adds an entry for `queue`; it is sent now when fewer than `maxInFlight` batches of the queue are out.
    func add(_ entry: Entry, queue: QueueName) {
        let batch = state.withLock { state -> [Entry]? in
            state.waiting[queue, default: []].append(entry)
            guard state.inFlight[queue, default: 0] < maxInFlight else { return nil }
            state.inFlight[queue, default: 0] += 1
            return take(queue, from: &state)
        }
        if let batch { dispatch(batch, queue: queue) }
    }

    private func dispatch(_ batch: [Entry], queue: QueueName) {
        send(batch, queue) {
            let next = self.state.withLock { state -> [Entry]? in
                guard state.waiting[queue]?.isEmpty == false else {
                    state.inFlight[queue, default: 1] -= 1
                    return nil
                }
                return self.take(queue, from: &state)
            }
            if let next { self.dispatch(next, queue: queue) }
        }
    }

    private func take(_ queue: QueueName, from state: inout State) -> [Entry] {
        guard var all = state.waiting.removeValue(forKey: queue) else { return [] }
        guard all.count > maxBatch else { return all }
        let batch = Array(all.prefix(maxBatch))
        all.removeFirst(maxBatch)
        state.waiting[queue] = all
        return batch
    }
}

import Synchronization

/// The blocking claims of a worker on several queues while all of them are empty: at most one per queue,
/// shared by the worker's fetchers.
///
/// Redis can block on one list per command (and in a Cluster each queue's list lives in a slot of its own), so
/// an idle worker on N queues keeps N blocking claims open, one per queue, each on a thread and connection of
/// its own. A fetcher that found every queue empty calls ``wait(on:)``: blocking claims start on the queues that
/// have none under way, and the fetcher wakes when any of them answers (a task, a hold or the claim wait's end),
/// so a task on any queue starts as soon as it is pushed and an empty worker sends nothing until then.
final class QueueWaits: Sendable {
    private struct State {
        var underWay: Set<Int> = []
        var sleepers: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let requests: AsyncStream<Int>
    private let requested: AsyncStream<Int>.Continuation

    init() {
        (requests, requested) = AsyncStream.makeStream(of: Int.self)
    }

    /// Starts a blocking claim on each queue in `indices` that has none under way, then waits until one of the
    /// blocking claims under way answers (or the waits are closed).
    func wait(on indices: [Int]) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.closed { return true }
                state.sleepers.append(continuation)
                for index in indices where !state.underWay.contains(index) {
                    state.underWay.insert(index)
                    requested.yield(index)
                }
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Runs the blocking claims asked for, each through `claim(index)`, until ``close()``; returns once the last
    /// one under way has answered, so no claimed task is left behind.
    func run(_ claim: @escaping @Sendable (Int) async -> Void) async {
        await withDiscardingTaskGroup { group in
            for await index in requests {
                group.addTask {
                    await claim(index)
                    self.answered(index)
                }
            }
        }
    }

    /// Wakes every waiting fetcher and starts no more blocking claims.
    func close() {
        let sleepers = state.withLock { state in
            state.closed = true
            defer { state.sleepers.removeAll() }
            return state.sleepers
        }
        requested.finish()
        sleepers.forEach { $0.resume() }
    }

    /// Wakes every waiting fetcher (a hold has ended: its queue may be claimed from again).
    func wakeAll() {
        let sleepers = state.withLock { state in
            defer { state.sleepers.removeAll() }
            return state.sleepers
        }
        sleepers.forEach { $0.resume() }
    }

    private func answered(_ index: Int) {
        _ = state.withLock { $0.underWay.remove(index) }
        wakeAll()
    }
}

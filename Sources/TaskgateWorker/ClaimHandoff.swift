import TaskgateCore

/// Hands claimed tasks from the worker's fetchers to its idle slots.
///
/// Slots wait in ``next()``; a fetcher waits in ``demand()`` until some slot is idle and not yet promised to
/// another fetcher, claims that many tasks in one step, and hands them over with ``deliver(_:promised:)``. So
/// the worker never holds more claims than it has idle slots, one round trip to Redis claims for all of them,
/// and with two fetchers one claim is on its way while the other's tasks are being handed out.
actor ClaimHandoff {
    private var waiting: [CheckedContinuation<ClaimedTask?, Never>] = []
    private var demandWaiters: [CheckedContinuation<Int, Never>] = []
    /// Idle slots promised to a fetcher whose claim is under way.
    private var promised = 0
    private var closed = false

    /// The next task for a slot, or `nil` once the handoff is closed.
    func next() async -> ClaimedTask? {
        if closed { return nil }
        return await withCheckedContinuation { continuation in
            waiting.append(continuation)
            if !demandWaiters.isEmpty, let count = promiseIdle() {
                demandWaiters.removeFirst().resume(returning: count)
            }
        }
    }

    /// Waits until at least one slot is idle and not promised, promises all such slots to the caller and
    /// returns how many they are (0 once closed). The caller must pass that number back to ``deliver(_:promised:)``.
    func demand() async -> Int {
        if closed { return 0 }
        if let count = promiseIdle() { return count }
        return await withCheckedContinuation { demandWaiters.append($0) }
    }

    /// Gives each task to an idle slot and releases the caller's promise; returns the tasks no slot took
    /// (only when closed meanwhile).
    func deliver(_ tasks: [ClaimedTask], promised count: Int) -> [ClaimedTask] {
        promised -= min(count, promised)
        var rest = tasks[...]
        while !closed, let task = rest.first, !waiting.isEmpty {
            waiting.removeFirst().resume(returning: task)
            rest = rest.dropFirst()
        }
        // Slots promised but not filled (the queue ran dry) are free for the next demand.
        while !demandWaiters.isEmpty, let idle = promiseIdle() {
            demandWaiters.removeFirst().resume(returning: idle)
        }
        return Array(rest)
    }

    /// Stops handing out tasks: idle slots and the fetchers are released.
    func close() {
        closed = true
        waiting.forEach { $0.resume(returning: nil) }
        waiting.removeAll()
        demandWaiters.forEach { $0.resume(returning: 0) }
        demandWaiters.removeAll()
    }

    private func promiseIdle() -> Int? {
        let free = waiting.count - promised
        guard free > 0 else { return nil }
        promised += free
        return free
    }
}

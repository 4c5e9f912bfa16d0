import TaskgateCore

/// Hands claimed tasks from the worker's one fetcher to its idle slots.
///
/// Slots wait in ``next()``; the fetcher waits in ``demand()`` until some slot is idle, claims that many tasks
/// in one step, and hands them over with ``deliver(_:)``. So the worker never holds more claims than it has
/// idle slots, and one round trip to Redis claims for all of them.
actor ClaimHandoff {
    private var waiting: [CheckedContinuation<ClaimedTask?, Never>] = []
    private var demandWaiter: CheckedContinuation<Int, Never>?
    private var closed = false

    /// The next task for a slot, or `nil` once the handoff is closed.
    func next() async -> ClaimedTask? {
        if closed { return nil }
        return await withCheckedContinuation { continuation in
            waiting.append(continuation)
            if let demandWaiter {
                self.demandWaiter = nil
                demandWaiter.resume(returning: waiting.count)
            }
        }
    }

    /// Waits until at least one slot is idle and returns how many are (0 once closed).
    func demand() async -> Int {
        if closed { return 0 }
        if !waiting.isEmpty { return waiting.count }
        return await withCheckedContinuation { demandWaiter = $0 }
    }

    /// Gives each task to an idle slot; returns the tasks no slot took (only when closed meanwhile).
    func deliver(_ tasks: [ClaimedTask]) -> [ClaimedTask] {
        var rest = tasks[...]
        while !closed, let task = rest.first, !waiting.isEmpty {
            waiting.removeFirst().resume(returning: task)
            rest = rest.dropFirst()
        }
        return Array(rest)
    }

    /// Stops handing out tasks: idle slots and the fetcher are released.
    func close() {
        closed = true
        waiting.forEach { $0.resume(returning: nil) }
        waiting.removeAll()
        demandWaiter?.resume(returning: 0)
        demandWaiter = nil
    }
}

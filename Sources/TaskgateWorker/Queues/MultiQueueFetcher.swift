import Logging
import Synchronization
import TaskgateCore
import TaskgateRedis

/// The fetchers of a worker on several queues: each claim takes as many tasks as slots are idle, split among
/// the queues by weight (or in strict priority order) by a ``QueueSelector`` all fetchers share.
///
/// A queue that comes back short (it ran dry) has its shortfall taken from the other queues; a queue whose
/// settings hold claims (paused, at `max_active`, out of rate tokens) is left out until its hold should end;
/// when every queue is empty the fetchers wait on ``QueueWaits``' blocking claims. A worker on one queue does
/// not use this: its fetchers claim as before, with one script call per claim.
final class MultiQueueFetcher: Sendable {
    private struct Shared {
        var selector: QueueSelector
        /// Until when each held queue is left out.
        var heldUntil: [Int: ContinuousClock.Instant] = [:]
    }

    private let queues: [WeightedQueue]
    private let store: any TaskStore
    private let handoff: ClaimHandoff
    private let logger: Logger
    private let leaseMilliseconds: Int
    private let blockMilliseconds: Int
    private let shared: Mutex<Shared>
    private let waits = QueueWaits()
    private let blockingExecutors: [BlockingExecutor]
    private let isStopping: @Sendable () -> Bool
    private let putBack: @Sendable (Lease) async -> Void

    /// - Parameters:
    ///   - putBack: puts a claimed task no slot took back on its queue, unchanged.
    init(
        configuration: WorkerConfiguration, store: any TaskStore, handoff: ClaimHandoff, logger: Logger,
        isStopping: @escaping @Sendable () -> Bool, putBack: @escaping @Sendable (Lease) async -> Void
    ) {
        queues = configuration.queues
        self.store = store
        self.handoff = handoff
        self.logger = logger
        leaseMilliseconds = configuration.leaseTiming.leaseMilliseconds
        blockMilliseconds = configuration.claimBlockMilliseconds
        shared = Mutex(Shared(selector: QueueSelector(configuration.queues, strict: configuration.strictPriority)))
        blockingExecutors = configuration.queues.map { BlockingExecutor(label: "taskgate.worker.wait.\($0.name)") }
        self.isStopping = isStopping
        self.putBack = putBack
    }

    /// Runs the blocking claims the fetchers ask for, until ``close()``.
    func runWaits() async {
        await waits.run { index in await self.blockingClaim(index) }
    }

    /// Stops the blocking claims from starting and wakes the fetchers waiting on them.
    func close() {
        waits.close()
    }

    /// One fetcher's loop (``Worker``'s fetchers each run one).
    func runFetcher(_ fetcher: Int) async {
        let executor = BlockingExecutor(label: "taskgate.worker.fetcher\(fetcher)")
        var pause = Backoff()
        while !isStopping() {
            let idle = await handoff.demand()
            guard idle > 0, !isStopping() else { break }
            let now = ContinuousClock.now
            let (plan, order, eligible) = shared.withLock { shared in
                let eligible = queues.indices.filter { (shared.heldUntil[$0] ?? now) <= now }
                let plan = shared.selector.plan(idle) { eligible.contains($0) }
                return (plan, shared.selector.fallbackOrder.filter { eligible.contains($0) }, eligible)
            }
            if plan.isEmpty {
                // Every queue is held: look again when the first hold should end.
                _ = await handoff.deliver([], promised: idle)
                let next = shared.withLock { $0.heldUntil.values.min() } ?? now + .milliseconds(blockMilliseconds)
                try? await Task.sleep(until: next, clock: .continuous)
                continue
            }
            var claimed: [ClaimedTask] = []
            var dry = Set<Int>()
            var failed = false
            let claim = { (index: Int, count: Int) async -> Void in
                switch await self.claimBatch(index, count, executor) {
                case .success(let tasks):
                    claimed += tasks
                    if tasks.count < count { dry.insert(index) }
                case .failure(let error):
                    dry.insert(index)
                    failed = failed || !error.code.isHold
                }
            }
            for step in plan { await claim(step.index, step.count) }
            for index in order where claimed.count < idle && !dry.contains(index) {
                await claim(index, idle - claimed.count)
            }
            if claimed.isEmpty {
                _ = await handoff.deliver([], promised: idle)
                if failed {
                    await pause.wait()
                } else {
                    pause.reset()
                    await waitForTasks(among: eligible)
                }
                continue
            }
            pause.reset()
            let stopping = isStopping()
            let rest = await handoff.deliver(stopping ? [] : claimed, promised: idle) + (stopping ? claimed : [])
            for task in rest { await putBack(task.lease) }
        }
    }

    /// Waits until a task may be claimed: blocking claims on the `eligible` queues not held now, and a wake-up
    /// when the first hold ends (a rate limit's next token comes sooner than the claim wait's end).
    private func waitForTasks(among eligible: [Int]) async {
        let now = ContinuousClock.now
        let (free, holdEnds) = shared.withLock { shared in
            (
                eligible.filter { (shared.heldUntil[$0] ?? now) <= now },
                shared.heldUntil.values.filter { $0 > now }.min()
            )
        }
        let alarm = holdEnds.map { end in
            Task { [waits] in
                try await Task.sleep(until: end, clock: .continuous)
                waits.wakeAll()
            }
        }
        await waits.wait(on: free)
        alarm?.cancel()
    }

    /// Claims up to `count` tasks from queue `index` without blocking; a hold is noted and answers failure.
    private func claimBatch(
        _ index: Int, _ count: Int, _ executor: BlockingExecutor
    ) async -> Result<[ClaimedTask], TaskStoreError> {
        let queue = queues[index].name
        let store = self.store
        let lease = leaseMilliseconds
        do throws(TaskStoreError) {
            let tasks = try await executor.run { () throws(TaskStoreError) -> [ClaimedTask] in
                try store.claimBatch(from: queue, max: count, leaseMilliseconds: lease)
            }
            release(index)
            return .success(tasks)
        } catch {
            note(error, on: index)
            return .failure(error)
        }
    }

    /// One blocking claim on queue `index`: its task goes to an idle slot, or back on the queue when none is idle.
    private func blockingClaim(_ index: Int) async {
        let queue = queues[index].name
        let store = self.store
        let lease = leaseMilliseconds
        let block = blockMilliseconds
        do throws(TaskStoreError) {
            let task = try await blockingExecutors[index].run { () throws(TaskStoreError) -> ClaimedTask? in
                try store.claim(from: queue, blockMilliseconds: block, leaseMilliseconds: lease)
            }
            release(index)
            guard let task else { return }
            for unplaced in await handoff.deliver([task], promised: 0) { await putBack(unplaced.lease) }
        } catch {
            // Not a busy loop: the fetchers woken by this answer back off (or leave the held queue out).
            note(error, on: index)
        }
    }

    private func note(_ error: TaskStoreError, on index: Int) {
        guard error.code.isHold else {
            logger.warning("claim failed, retrying", metadata: ["queue": "\(queues[index].name)", "error": "\(error)"])
            return
        }
        let wait = Worker.holdWait(error, claimBlock: blockMilliseconds)
        let wasHeld = shared.withLock { shared -> Bool in
            defer { shared.heldUntil[index] = .now + .milliseconds(wait) }
            return shared.heldUntil[index] != nil
        }
        if !wasHeld {
            logger.info(
                "claims held by the queue's settings",
                metadata: ["queue": "\(queues[index].name)", "reason": "\(error.message)"])
        }
    }

    private func release(_ index: Int) {
        shared.withLock { _ = $0.heldUntil.removeValue(forKey: index) }
    }
}

import Dispatch
import Logging
import Synchronization
import TaskgateCore

/// Keeps the queues that pull workers claim from moving when no Swift worker runs on them: every second it
/// promotes due scheduled and retrying tasks, recovers expired leases and tells the children and batches of
/// tasks that ended (``WorkflowReleaser``), as a worker's loops do.
///
/// A queue is looked after from its first claim through this gateway until it has seen none for
/// ``idleMilliseconds``, at most ``maxQueues`` at once. Each pass is bounded (`limit` ids per queue) and every step re-checks its state inside
/// its script, so any number of gateways and workers may run it at once.
final class PullMaintenance: Sendable {
    private let store: any TaskStore
    private let retentionMilliseconds: Int
    private let logger: Logger
    private let releaser: WorkflowReleaser?
    private let queues = Mutex<[QueueName: ContinuousClock.Instant]>([:])
    private let stopped = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let thread = DispatchQueue(label: "taskgate.gateway.pull-maintenance")
    /// How long a queue is looked after after its last claim.
    let idleMilliseconds = 600_000
    /// Ids handled per queue per pass.
    let limit = 100
    /// The most queues looked after at once (claims register their queues within `--max-queues` first; this
    /// bounds the set whatever the registry holds). A claim on a queue past it is served, its queue not looked
    /// after until a place frees.
    let maxQueues = QueueRegistry.defaultMaxQueues

    init(store: any TaskStore, retentionMilliseconds: Int, releaser: WorkflowReleaser? = nil, logger: Logger) {
        self.store = store
        self.releaser = releaser
        self.retentionMilliseconds = retentionMilliseconds
        self.logger = logger
    }

    /// Notes a claim on `queue` (and starts the loop on the first one).
    func claimed(from queue: QueueName) {
        let bound = maxQueues
        queues.withLock { queues in
            if queues[queue] != nil || queues.count < bound { queues[queue] = .now }
        }
        if !started.exchange(true, ordering: .acquiringAndReleasing) {
            thread.async { self.pass() }
        }
    }

    /// Stops after the current pass.
    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    private func pass() {
        guard !stopped.load(ordering: .acquiring) else { return }
        let idle = Duration.milliseconds(idleMilliseconds)
        let now = ContinuousClock.now
        let active = queues.withLock { queues -> [QueueName] in
            queues = queues.filter { now - $0.value < idle }
            return Array(queues.keys)
        }
        for queue in active {
            do throws(TaskStoreError) {
                _ = try store.promoteDue(in: queue, limit: limit)
                let recovery = try store.recover(
                    in: queue, limit: limit, unleasedGraceMilliseconds: LeaseTiming.standard.leaseMilliseconds,
                    retentionMilliseconds: retentionMilliseconds)
                if recovery.recovered > 0 {
                    logger.warning(
                        "recovered tasks of lost pull workers",
                        metadata: [
                            "queue": "\(queue)", "retried": "\(recovery.retried)", "dead": "\(recovery.deadLettered)",
                        ])
                }
            } catch {
                logger.warning("pull maintenance failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
        }
        if let releaser, !active.isEmpty {
            do throws(TaskStoreError) {
                _ = try releaser.pass(active)
            } catch {
                logger.warning("pull workflow release failed", metadata: ["error": "\(error)"])
            }
        }
        thread.asyncAfter(deadline: .now() + .seconds(1)) { self.pass() }
    }
}

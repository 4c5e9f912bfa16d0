import Dispatch
import Logging
import Synchronization
import TaskgateCore

/// Runs ``QueuePruner`` every ``QueueRegistry/pruneInterval`` on a thread of its own, from the gateway's start to
/// its stop. Any number of gateways may prune at once: each removal is one `ZREM` of a queue found abandoned.
final class QueuePruning: Sendable {
    private let pruner: QueuePruner
    private let logger: Logger
    private let interval: Duration
    private let stopped = Atomic<Bool>(false)
    private let thread = DispatchQueue(label: "taskgate.gateway.queue-pruning")

    init(pruner: QueuePruner, interval: Duration = QueueRegistry.pruneInterval, logger: Logger) {
        self.pruner = pruner
        self.interval = interval
        self.logger = logger
    }

    /// Schedules the first pass one interval from now.
    func start() {
        schedule()
    }

    /// Stops after the current pass.
    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    private func schedule() {
        let (seconds, attoseconds) = interval.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        thread.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { self.pass() }
    }

    private func pass() {
        guard !stopped.load(ordering: .acquiring) else { return }
        do throws(TaskStoreError) {
            let removed = try pruner.prune()
            if !removed.isEmpty {
                logger.info(
                    "pruned abandoned queues from the registry",
                    metadata: [
                        "count": "\(removed.count)",
                        "queues": "\(removed.prefix(10).map(\.rawValue).joined(separator: ","))",
                    ])
            }
        } catch {
            logger.warning("queue pruning failed", metadata: ["error": "\(error)"])
        }
        schedule()
    }
}

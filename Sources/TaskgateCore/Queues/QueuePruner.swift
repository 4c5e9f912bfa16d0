/// Removes abandoned queues from the registry, so that queues a client made and left free their places under
/// ``QueueRegistry/maxQueues``.
///
/// A queue is abandoned when nothing waits in it and nothing has happened in it for a day: no task pending,
/// scheduled, retrying, active or dead, no operator setting (pause, limits), and no attempt in its statistics' last
/// day. Its keys are left alone (an empty queue has almost none: its statistics expire on their own); it is listed
/// again as soon as anyone uses it. A task stored while its queue is pruned is found as ever (nothing depends on
/// the registry to find a task), and its queue is listed again by the next repair, within a minute.
///
/// Cost: what `GET /queues` reads for every registered queue (``QueueInspector/summaries(after:limit:)``, pipelined
/// per page of 1,000), plus one `ZREM` per queue removed.
public struct QueuePruner: Sendable {
    private let inspector: QueueInspector
    private let registry: QueueRegistry

    /// Creates a pruner over the operator's seam and the registry it lists.
    public init(inspector: QueueInspector, registry: QueueRegistry) {
        self.inspector = inspector
        self.registry = registry
    }

    /// Removes every abandoned queue; returns their names.
    public func prune() throws(TaskStoreError) -> [QueueName] {
        var removed: [QueueName] = []
        var cursor: QueueName?
        repeat {
            let page = try inspector.summaries(after: cursor, limit: QueueInspector.maxPage)
            for summary in page.queues where Self.isAbandoned(summary) {
                try registry.forget(summary.queue)
                removed.append(summary.queue)
            }
            cursor = page.next
        } while cursor != nil
        return removed
    }

    /// `true` when nothing waits in the queue, no operator setting holds it, and its statistics count no attempt
    /// in the last day.
    public static func isAbandoned(_ summary: QueueSummary) -> Bool {
        let depths = summary.depths
        let empty =
            depths.pending == 0 && depths.scheduled == 0 && depths.retrying == 0 && depths.active == 0
            && depths.dead == 0
        let idle = summary.statistics.lastDay.succeeded == 0 && summary.statistics.lastDay.failed == 0
        return empty && idle && !summary.isPaused && summary.limits.isEmpty
    }
}

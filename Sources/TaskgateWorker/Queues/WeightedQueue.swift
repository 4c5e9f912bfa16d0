import TaskgateCore

/// A queue a worker serves, with its weight among the worker's queues.
public struct WeightedQueue: Sendable, Hashable {
    /// The queue.
    public let name: QueueName
    /// Its share of the claims relative to the other queues' weights (at least 1).
    public let weight: Int

    /// Creates a queue entry; weights under 1 count as 1.
    public init(_ name: QueueName, weight: Int = 1) {
        self.name = name
        self.weight = max(1, weight)
    }

    /// Reads `name` or `name=weight` (as `--queue critical=6` gives it); `nil` when malformed.
    public init?(specification: String) {
        let parts = specification.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard let name = QueueName(String(parts[0])) else { return nil }
        if parts.count == 1 {
            self.init(name)
            return
        }
        guard let weight = Int(parts[1]), (1...1000).contains(weight) else { return nil }
        self.init(name, weight: weight)
    }
}

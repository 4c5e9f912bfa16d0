/// Decides which of a worker's queues each claim comes from: by weight, or in strict order of priority.
///
/// By weight it is smooth weighted round robin (nginx's upstream balancing): every claim adds each eligible
/// queue's weight to its credit, takes from the queue with the most credit and charges it the eligible
/// queues' total. So over any run of claims each queue's share is its weight's share to within one claim, and
/// the queues interleave instead of coming in bursts. In strict order every claim goes to the first eligible
/// queue that has tasks.
struct QueueSelector: Sendable {
    /// The worker's queues, in the order given (which is the priority order with `strict`).
    let queues: [WeightedQueue]
    /// Strict priority instead of weights.
    let strict: Bool
    private var credit: [Int]

    init(_ queues: [WeightedQueue], strict: Bool) {
        self.queues = queues
        self.strict = strict
        credit = Array(repeating: 0, count: queues.count)
    }

    /// Splits `count` claims among the queues `eligible` admits: how many to take from each queue (by index),
    /// in the order to take them. Empty when no queue is eligible.
    mutating func plan(_ count: Int, eligible: (Int) -> Bool) -> [(index: Int, count: Int)] {
        let candidates = queues.indices.filter(eligible)
        guard count > 0, let first = candidates.first else { return [] }
        if strict { return [(first, count)] }
        let total = candidates.reduce(0) { $0 + queues[$1].weight }
        var counts = Array(repeating: 0, count: queues.count)
        var order: [Int] = []
        for _ in 0..<count {
            var best = first
            for index in candidates {
                credit[index] += queues[index].weight
                if credit[index] > credit[best] { best = index }
            }
            credit[best] -= total
            if counts[best] == 0 { order.append(best) }
            counts[best] += 1
        }
        return order.map { ($0, counts[$0]) }
    }

    /// The queues in the order to top up claims that came back short: priority order with `strict`, else
    /// heaviest first.
    var fallbackOrder: [Int] {
        strict ? Array(queues.indices) : queues.indices.sorted { queues[$0].weight > queues[$1].weight }
    }
}

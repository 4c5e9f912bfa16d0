import TaskgateCore
import Testing

@testable import TaskgateWorker

/// How a worker on several queues splits its claims.
@Suite(.dedicatedThreads) struct QueueSelectorTests {
    private let queues = [("critical", 6), ("default", 3), ("low", 1)].map {
        WeightedQueue(QueueName($0.0)!, weight: $0.1)
    }

    @Test func claimsOneAtATimeFollowTheWeightsExactlyAndInterleave() {
        var selector = QueueSelector(queues, strict: false)
        var picks: [Int] = []
        for _ in 0..<100 { picks += selector.plan(1) { _ in true }.map(\.index) }
        #expect(picks.filter { $0 == 0 }.count == 60)
        #expect(picks.filter { $0 == 1 }.count == 30)
        #expect(picks.filter { $0 == 2 }.count == 10)
        // Smooth: the heaviest queue never takes more than two claims in a row out of ten.
        #expect(!picks.indices.dropLast(2).contains { picks[$0] == 0 && picks[$0 + 1] == 0 && picks[$0 + 2] == 0 })
    }

    @Test func aBatchIsSplitByWeightAmongTheEligibleQueues() {
        var selector = QueueSelector(queues, strict: false)
        let plan = selector.plan(10) { _ in true }
        #expect(Dictionary(uniqueKeysWithValues: plan.map { ($0.index, $0.count) }) == [0: 6, 1: 3, 2: 1])
        var onlyTwo = QueueSelector(queues, strict: false)
        let without = onlyTwo.plan(4) { $0 != 0 }
        #expect(Dictionary(uniqueKeysWithValues: without.map { ($0.index, $0.count) }) == [1: 3, 2: 1])
        #expect(selector.plan(5) { _ in false }.isEmpty)
    }

    @Test func strictOrderGivesEverythingToTheFirstEligibleQueue() {
        var selector = QueueSelector(queues, strict: true)
        #expect(selector.plan(8) { _ in true }.map(\.index) == [0])
        #expect(selector.plan(8) { $0 > 0 }.map { [$0.index, $0.count] } == [[1, 8]])
        #expect(selector.fallbackOrder == [0, 1, 2])
        #expect(QueueSelector(queues.reversed(), strict: false).fallbackOrder == [2, 1, 0])
    }

    @Test func readsNameAndWeight() {
        #expect(WeightedQueue(specification: "critical=6") == WeightedQueue(QueueName("critical")!, weight: 6))
        #expect(WeightedQueue(specification: "mail")?.weight == 1)
        for bad in ["", "a=", "a=0", "a=1001", "a=x", "bad name=2", "=3"] {
            #expect(WeightedQueue(specification: bad) == nil, "\(bad)")
        }
    }
}

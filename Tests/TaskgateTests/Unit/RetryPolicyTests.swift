import Testing

@testable import TaskgateCore

/// A deterministic generator so the jitter can be checked.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite(.dedicatedThreads) struct RetryPolicyTests {
    @Test func withoutJitterDoublesUpToTheCap() {
        let policy = RetryPolicy.exponentialJitter(baseMilliseconds: 100, maxMilliseconds: 1000, jitter: 0)
        #expect((1...6).map { policy.delayMilliseconds(forRetry: $0) } == [100, 200, 400, 800, 1000, 1000])
    }

    @Test func jitterStaysWithinItsShare() {
        let policy = RetryPolicy.exponentialJitter(baseMilliseconds: 1000, maxMilliseconds: 60_000, jitter: 0.5)
        var generator = SeededGenerator(state: 42)
        var seen = Set<Int>()
        for retry in 1...8 {
            let ceiling = min(1000 << (retry - 1), 60_000)
            for _ in 0..<200 {
                let delay = policy.delayMilliseconds(forRetry: retry, using: &generator)
                #expect(delay >= ceiling / 2 && delay <= ceiling)
                seen.insert(delay)
            }
        }
        #expect(seen.count > 100)
    }

    @Test func hugeRetryNumbersDoNotOverflow() {
        let policy = RetryPolicy.exponentialJitter(baseMilliseconds: 2000, maxMilliseconds: 3_600_000, jitter: 0)
        #expect(policy.delayMilliseconds(forRetry: 100) == 3_600_000)
        #expect(policy.delayMilliseconds(forRetry: 0) == 2000)
    }

    @Test func theDefaultStartsAtTwoSeconds() {
        #expect(RetryPolicy.standard.baseMilliseconds == 2000)
        #expect(RetryPolicy.standard.maxMilliseconds == 3_600_000)
    }
}

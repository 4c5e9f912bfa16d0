import TaskgateRedis
import Testing

@testable import TaskgateCore

/// How a completeMany answer for one task becomes an error (or none) for the worker that sent it.
@Suite(.dedicatedThreads) struct CompletionOutcomeTests {
    private let lease = Lease.fresh(for: TaskID.generate(queue: .default))

    @Test func completedMeansNoError() {
        #expect(RedisTaskStore.completionError(.integer(1), for: lease) == nil)
    }

    @Test func refusedMeansTheLeaseWasLost() {
        #expect(RedisTaskStore.completionError(.integer(0), for: lease)?.code == .leaseLost)
    }

    @Test func aRedisErrorForTheTaskIsReportedAsSuch() {
        let error = RedisTaskStore.completionError(.bulk(Array("WRONGTYPE wrong kind".utf8)), for: lease)
        #expect(error?.code == .failed)
        #expect(error?.message.contains("WRONGTYPE") == true)
    }

    @Test func aMissingAnswerIsAnError() {
        let error = RedisTaskStore.completionError(nil, for: lease)
        #expect(error?.code == .failed)
        #expect(error?.message.contains(lease.id.rawValue) == true)
    }
}

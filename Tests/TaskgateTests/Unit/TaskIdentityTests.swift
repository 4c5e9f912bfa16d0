import Testing

@testable import TaskgateCore

@Suite(.dedicatedThreads) struct TaskIdentityTests {
    @Test func generatedIDsRoundTripAndDiffer() throws {
        let queue = try #require(QueueName("mail.out-1"))
        let first = TaskID.generate(queue: queue)
        let second = TaskID.generate(queue: queue)
        #expect(first != second)
        #expect(TaskID(first.rawValue) == first)
        #expect(first.queue == queue)
        #expect(first.token.count == 32)
    }

    @Test(arguments: [
        "default", "default.", "default.123", ".0123456789abcdef0123456789abcdef",
        "default.0123456789ABCDEF0123456789ABCDEF", "de fault.0123456789abcdef0123456789abcdef",
        "a}b.0123456789abcdef0123456789abcdef", "default.0123456789abcdef0123456789abcdeg",
    ])
    func rejectsMalformedIDs(_ text: String) {
        #expect(TaskID(text) == nil)
    }

    @Test func queueNamesAreLimited() {
        #expect(QueueName(String(repeating: "q", count: 64)) != nil)
        #expect(QueueName(String(repeating: "q", count: 65)) == nil)
        #expect(QueueName("a:b") == nil)
        #expect(QueueName("a{b") == nil)
        #expect(QueueName("é") == nil)
    }

    @Test func everyKeyOfAQueueSharesOneHashTag() throws {
        let keys = try #require(KeySpace(prefix: "tg"))
        let queue = try #require(QueueName("images"))
        let id = TaskID.generate(queue: queue)
        let all = [keys.task(id), keys.pending(queue), keys.active(queue), keys.scheduled(queue), keys.dead(queue)]
        for key in all {
            #expect(key.hasPrefix("tg:{images}:"))
        }
        #expect(Set(all).count == all.count)
        #expect(keys.task(id) == "tg:{images}:task:\(id.token)")
    }

    @Test func prefixesCannotMoveTheHashTag() {
        #expect(KeySpace(prefix: "a{b}") == nil)
        #expect(KeySpace(prefix: "") == nil)
        #expect(KeySpace(prefix: "app:taskgate") != nil)
    }
}

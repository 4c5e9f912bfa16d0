import Foundation
import Logging
import Synchronization
import TaskgateCore
import TaskgateRedis
import TaskgateWorker
import Testing

/// One worker on several queues: shares by weight, strict priority, holds, and an idle worker's blocking waits.
@Suite(.dedicatedThreads) struct WeightedQueueTests {
    private static func worker(
        _ ns: TestNamespace, _ queues: [WeightedQueue], strict: Bool = false, concurrency: Int,
        _ handler: @escaping @Sendable (TaskContext) async throws -> String
    ) -> Worker {
        var handlers = HandlerRegistry()
        handlers.register("t") { .string(try await handler($0)) }
        var logger = Logger(label: "test-weighted")
        logger.logLevel = .critical
        return Worker(
            configuration: WorkerConfiguration(
                redis: ns.server.configuration, keys: ns.keys, queues: queues, strictPriority: strict,
                concurrency: concurrency, claimBlockMilliseconds: 200),
            handlers: handlers, logger: logger)
    }

    private static func fill(_ store: RedisTaskStore, _ queue: QueueName, _ count: Int) throws {
        for start in stride(from: 0, to: count, by: 1000) {
            let items = (start..<min(count, start + 1000)).map { index in
                (
                    submission: TaskSubmission(payload: .integer(index), type: "t", queue: queue),
                    idempotencyKey: IdempotencyKey?.none
                )
            }
            for result in store.enqueueBatch(items, idempotencyWindowMilliseconds: 1000) { _ = try result.get() }
        }
    }

    @Test func overTenThousandTasksEachQueueGetsItsWeightsShare() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let store = ns.store
        let weights = ["critical": 6, "default": 3, "low": 1]
        let queues = weights.keys.sorted().map { WeightedQueue(QueueName($0)!, weight: weights[$0]!) }
        // Every queue holds 10,000 tasks, so none runs dry while the worker runs the first 10,000.
        // Stored on a thread of its own: 30,000 tasks would hold one of the few threads every test's async code
        // shares for as long.
        try await offThePool { for queue in queues { try Self.fill(store, queue.name, 10_000) } }
        let total = 10_000
        let counts = Mutex<[String: Int]>([:])
        let done = Atomic<Bool>(false)
        let worker = Self.worker(ns, queues, concurrency: 16) { task in
            let reached = counts.withLock { counts -> Bool in
                let sum = counts.values.reduce(0, +)
                if sum < total { counts[task.queue.rawValue, default: 0] += 1 }
                return sum + 1 >= total
            }
            if reached { done.store(true, ordering: .releasing) }
            return "ok"
        }
        let running = Task { try await worker.run() }
        try await eventually(timeout: 120, "10,000 tasks to run") { done.load(ordering: .acquiring) }
        worker.beginShutdown()
        try await running.value

        let final = counts.withLock { $0 }
        #expect(final.values.reduce(0, +) == total)
        for (name, weight) in weights {
            let expected = Double(weight) / 10
            let share = Double(final[name] ?? 0) / Double(total)
            #expect(
                abs(share - expected) <= 0.15 * expected, "\(name): \(share) of the tasks, weight share \(expected)")
        }
        // Every queue still had tasks waiting, so the shares were the worker's choice, not what was left.
        for queue in queues { #expect(try ns.redis("LLEN", ns.keys.pending(queue.name)).int ?? 0 > 0) }
    }

    @Test func strictPriorityServesALaterQueueOnlyOnceTheEarlierIsEmpty() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let store = ns.store
        let high = QueueName("high")!
        let low = QueueName("low")!
        try Self.fill(store, low, 200)
        try Self.fill(store, high, 200)
        let order = Mutex<[String]>([])
        let worker = Self.worker(
            ns, [WeightedQueue(high), WeightedQueue(low, weight: 100)], strict: true, concurrency: 1
        ) {
            task in
            order.withLock { $0.append(task.queue.rawValue) }
            return "ok"
        }
        let running = Task { try await worker.run() }
        try await eventually(timeout: 60, "all 400 tasks to run") { order.withLock { $0.count } >= 400 }
        worker.beginShutdown()
        try await running.value
        let seen = order.withLock { $0 }
        #expect(seen.prefix(200).allSatisfy { $0 == "high" }, "low ran before high was empty")
        #expect(seen.suffix(200).allSatisfy { $0 == "low" })
    }

    @Test func aPausedQueueIsLeftOutWhileTheOthersRun() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let store = ns.store
        let paused = QueueName("paused")!
        let open = QueueName("open")!
        let control = QueueControl(pool: ns.pool, keys: ns.keys, registry: QueueRegistry(pool: ns.pool, keys: ns.keys))
        _ = try control.pause(paused)
        try Self.fill(store, paused, 20)
        try Self.fill(store, open, 20)
        let ran = Mutex<[String: Int]>([:])
        let worker = Self.worker(ns, [WeightedQueue(paused, weight: 9), WeightedQueue(open)], concurrency: 4) {
            task in
            ran.withLock { $0[task.queue.rawValue, default: 0] += 1 }
            return "ok"
        }
        let running = Task { try await worker.run() }
        defer { worker.beginShutdown() }
        try await eventually("the open queue's tasks to run") { ran.withLock { $0["open"] ?? 0 } == 20 }
        // The worker has gone on to wait: it claimed the open queue dry and left the paused one alone.
        #expect(ran.withLock { $0["paused"] } == nil)
        #expect(try ns.redis("LLEN", ns.keys.pending(paused)).int == 20)

        _ = try control.resume(paused)
        try await eventually("the resumed queue's tasks to run") { ran.withLock { $0["paused"] ?? 0 } == 20 }
        worker.beginShutdown()
        try await running.value
    }

    @Test func anIdleWorkerBlocksOnEveryQueueAndRunsATaskPushedToAny() async throws {
        // A Redis of its own, so the blocked clients counted are this worker's alone.
        let server = RedisServer()
        try server.start()
        defer { server.stop() }
        let ns = TestNamespace(server: server)
        let names = ["a", "b", "c"].map { QueueName($0)! }
        let ran = Mutex<[String]>([])
        let worker = Self.worker(ns, names.map { WeightedQueue($0) }, concurrency: 2) { task in
            ran.withLock { $0.append(task.queue.rawValue) }
            return "ok"
        }
        let running = Task { try await worker.run() }
        defer { worker.beginShutdown() }
        let blockedOnEachQueue = {
            let list = try ns.redis("CLIENT", "LIST").string ?? ""
            return list.split(separator: "\n").filter { $0.contains("cmd=blmove") }.count == names.count
        }
        try await eventually("a blocking claim on each queue") { try blockedOnEachQueue() }
        for name in names.reversed() {
            let outcome = try ns.store.enqueue(TaskSubmission(payload: .null, type: "t", queue: name))
            try await eventually("the task on \(name) to run") { try ns.store.task(outcome.id)?.state == .succeeded }
        }
        #expect(ran.withLock { $0 } == ["c", "b", "a"])
        try await eventually("the worker to wait on every queue again") { try blockedOnEachQueue() }

        // Redis goes away under the blocking claims and comes back empty: the worker reconnects and waits again.
        server.stop()
        try server.restart()
        try await eventually(timeout: 30, "the worker to block on every queue of the new Redis") {
            try blockedOnEachQueue()
        }
        let after = try ns.store.enqueue(TaskSubmission(payload: .null, type: "t", queue: names[1]))
        try await eventually("a task after the restart to run") { try ns.store.task(after.id)?.state == .succeeded }
        worker.beginShutdown()
        try await running.value
    }
}

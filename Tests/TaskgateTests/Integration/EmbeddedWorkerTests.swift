import Foundation
import Logging
import Synchronization
import TaskgateCore
import TaskgateWorker
import Testing

/// The worker embedded as a library, with handlers registered per task type.
@Suite(.dedicatedThreads) struct EmbeddedWorkerTests {
    @Test func runsRegisteredHandlersAndFailsTypesWithoutOne() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        var handlers = HandlerRegistry()
        handlers.register("double") { task in
            guard case .number(let literal) = task.payloadValue, let value = Int(literal) else {
                throw TaskFailure("payload must be an integer")
            }
            return TaskResult(.number(String(value * 2)))
        }
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        let worker = Worker(
            configuration: WorkerConfiguration(
                redis: ns.server.configuration, keys: ns.keys, concurrency: 2,
                retryPolicy: .exponentialJitter(baseMilliseconds: 10, maxMilliseconds: 10),
                claimBlockMilliseconds: 100),
            handlers: handlers, logger: logger)
        let running = Task { try await worker.run() }
        defer { worker.beginShutdown() }

        let store = ns.store
        let doubled = try store.enqueue(TaskSubmission(payload: .integer(21), type: "double"))
        let invalid = try store.enqueue(TaskSubmission(payload: .string("x"), type: "double", maxRetries: 1))
        let orphan = try store.enqueue(TaskSubmission(payload: .null, type: "resize", maxRetries: 0))

        try await eventually("handled tasks to finish") {
            try [doubled.id, invalid.id, orphan.id].allSatisfy { try store.task($0)?.state.isFinal == true }
        }
        #expect(try store.task(doubled.id)?.result?.json == "42")
        let failed = try #require(try store.task(invalid.id))
        #expect(failed.state == .dead)
        #expect(failed.retries == 1)
        #expect(failed.lastError == "payload must be an integer")
        #expect(try store.task(orphan.id)?.lastError == "no handler for task type resize")

        worker.beginShutdown()
        try await running.value
    }

    @Test func anOperatorsCancelCancelsTheSwiftHandlersTaskAndTheWorkerGoesOn() async throws {
        let ns = TestNamespace()
        defer { ns.cleanUp() }
        let started = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        var handlers = HandlerRegistry()
        handlers.register("wait") { _ in
            started.store(true, ordering: .releasing)
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                stopped.store(true, ordering: .releasing)
                throw error
            }
            return "never"
        }
        handlers.register("quick") { _ in "done" }
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        let worker = Worker(
            configuration: WorkerConfiguration(
                redis: ns.server.configuration, keys: ns.keys, concurrency: 1, claimBlockMilliseconds: 100),
            handlers: handlers, logger: logger)
        let running = Task { try await worker.run() }
        defer { worker.beginShutdown() }
        let store = ns.store
        let waiting = try store.enqueue(TaskSubmission(payload: .null, type: "wait"))
        try await eventually("the handler to start") { started.load(ordering: .acquiring) }
        _ = try TaskControl(pool: ns.pool, keys: ns.keys).cancel(waiting.id)
        // Told on the cancellations channel, the worker cancels the handler's task: its sleep throws at once.
        try await eventually("the handler's task to be cancelled") { stopped.load(ordering: .acquiring) }
        let next = try store.enqueue(TaskSubmission(payload: .null, type: "quick"))
        try await eventually("the one slot to run the next task") { try store.task(next.id)?.state == .succeeded }
        let record = try #require(try store.task(waiting.id))
        #expect(record.state == .cancelled)
        #expect(record.result == nil)
        worker.beginShutdown()
        try await running.value
    }
}

import Logging
import ServiceLifecycle
import Synchronization
import TaskgateCore
import TaskgateRedis

/// Takes tasks off one queue and runs them, `concurrency` at a time, until graceful shutdown.
///
/// Each slot blocks on `BLMOVE` (pending to active) on a thread of its own, runs the task's handler,
/// and records the outcome in one atomic step: succeeded, retrying with backoff, or dead. A scheduler
/// moves due delayed and retrying tasks to pending. On shutdown the worker stops claiming, gives running
/// tasks the grace period, then cancels them and puts them back on the queue.
public final class Worker: Service, Sendable {
    /// What the worker was built with.
    public let configuration: WorkerConfiguration
    private let handlers: HandlerRegistry
    private let store: any TaskStore
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let running = Mutex<[Int: Task<String, any Error>]>([:])

    /// Creates a worker over Redis.
    public convenience init(configuration: WorkerConfiguration, handlers: HandlerRegistry, logger: Logger) {
        let pool = RedisConnectionPool(configuration: configuration.redis, maxIdle: configuration.concurrency + 2)
        self.init(
            configuration: configuration, handlers: handlers,
            store: RedisTaskStore(pool: pool, keys: configuration.keys), logger: logger)
    }

    /// Creates a worker over any task store.
    public init(configuration: WorkerConfiguration, handlers: HandlerRegistry, store: any TaskStore, logger: Logger) {
        self.configuration = configuration
        self.handlers = handlers
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        logger.info(
            "worker started",
            metadata: ["queue": "\(configuration.queue)", "concurrency": "\(configuration.concurrency)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for slot in 0..<configuration.concurrency {
                    group.addTask { await self.runSlot(slot) }
                }
                group.addTask { await self.runScheduler() }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        logger.info("worker stopped")
    }

    /// Stops claiming; running tasks get the grace period, then are cancelled and put back.
    public func beginShutdown() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("shutting down: no new claims", metadata: ["grace": "\(configuration.gracePeriod)"])
        let grace = configuration.gracePeriod
        Task {
            try? await Task.sleep(for: grace)
            let stragglers = self.running.withLock { Array($0.values) }
            if !stragglers.isEmpty {
                self.logger.warning(
                    "grace period over, stopping running tasks", metadata: ["count": "\(stragglers.count)"])
            }
            stragglers.forEach { $0.cancel() }
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func runSlot(_ slot: Int) async {
        let executor = BlockingExecutor(label: "taskgate.worker.slot\(slot)")
        let queue = configuration.queue
        let block = configuration.claimBlockMilliseconds
        let store = self.store
        var pause = Backoff()
        while !isStopping {
            let claimed: TaskRecord?
            do throws(TaskStoreError) {
                claimed = try await executor.run { () throws(TaskStoreError) -> TaskRecord? in
                    try store.claim(from: queue, blockMilliseconds: block)
                }
                pause.reset()
            } catch {
                logger.warning("claim failed, retrying", metadata: ["error": "\(error)", "in": "\(pause.current)"])
                await pause.wait()
                continue
            }
            guard let record = claimed else { continue }
            if isStopping {
                await finish(record.id, executor: executor, what: "requeue") { store throws(TaskStoreError) in
                    try store.requeue(record.id)
                }
                return
            }
            await execute(record, slot: slot, executor: executor)
        }
    }

    private func execute(_ record: TaskRecord, slot: Int, executor: BlockingExecutor) async {
        let context = TaskContext(record: record)
        let handler = handlers.handler(for: record.type)
        let timeout = record.timeoutMilliseconds
        let attempt = Task<String, any Error> {
            guard let handler else {
                throw TaskFailure(.noHandler, "no handler for task type \(record.type ?? "(none)")")
            }
            return try await Self.withTimeout(milliseconds: timeout) { try await handler.handle(context) }
        }
        running.withLock { $0[slot] = attempt }
        let outcome = await attempt.result
        running.withLock { $0[slot] = nil }
        let id = record.id
        let policy = configuration.retryPolicy
        let retention = configuration.retentionMilliseconds

        if attempt.isCancelled && isStopping {
            logger.info("put back unfinished task", metadata: ["id": "\(id)"])
            await finish(id, executor: executor, what: "requeue") { store throws(TaskStoreError) in
                try store.requeue(id)
            }
            return
        }
        switch outcome {
        case .success(let result):
            logger.debug("task succeeded", metadata: ["id": "\(id)"])
            await finish(id, executor: executor, what: "complete") { store throws(TaskStoreError) in
                try store.complete(id, result: result, retentionMilliseconds: retention)
            }
        case .failure(let error):
            let message = (error as? TaskFailure)?.message ?? String(describing: error)
            let backoff = policy.delayMilliseconds(forRetry: record.retries + 1)
            logger.info(
                "task failed", metadata: ["id": "\(id)", "attempt": "\(record.attempts)", "error": "\(message)"])
            await finish(id, executor: executor, what: "fail") { store throws(TaskStoreError) in
                try store.fail(id, error: message, backoffMilliseconds: backoff, retentionMilliseconds: retention)
            }
        }
    }

    /// Records an outcome, retrying while Redis is unavailable: the task stays active, not lost, meanwhile.
    private func finish<T: Sendable>(
        _ id: TaskID, executor: BlockingExecutor, what: String,
        _ step: @escaping @Sendable (any TaskStore) throws(TaskStoreError) -> T
    ) async {
        let store = self.store
        var pause = Backoff()
        for _ in 0..<20 {
            do throws(TaskStoreError) {
                _ = try await executor.run { () throws(TaskStoreError) -> T in try step(store) }
                return
            } catch  where error.code == .unavailable {
                logger.warning("\(what) failed, retrying", metadata: ["id": "\(id)", "error": "\(error)"])
                await pause.wait()
            } catch {
                logger.error("\(what) failed", metadata: ["id": "\(id)", "error": "\(error)"])
                return
            }
        }
        logger.error("\(what) gave up; the task stays in the active list", metadata: ["id": "\(id)"])
    }

    private func runScheduler() async {
        let executor = BlockingExecutor(label: "taskgate.worker.scheduler")
        let queue = configuration.queue
        let interval = configuration.schedulerIntervalMilliseconds
        let store = self.store
        var pause = Backoff()
        while !isStopping {
            do throws(TaskStoreError) {
                let promotion = try await executor.run { () throws(TaskStoreError) -> Promotion in
                    try store.promoteDue(in: queue, limit: 100)
                }
                pause.reset()
                if promotion.promoted > 0 {
                    logger.debug("promoted due tasks", metadata: ["count": "\(promotion.promoted)"])
                }
                let wait = min(interval, promotion.nextDueInMilliseconds ?? interval)
                if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
            } catch {
                logger.warning("scheduler failed, retrying", metadata: ["error": "\(error)"])
                await pause.wait()
            }
        }
    }

    /// Runs `body`, cancelling it and failing with ``TaskFailure/Code/timedOut`` after `milliseconds`.
    static func withTimeout(
        milliseconds: Int?, _ body: @escaping @Sendable () async throws -> String
    ) async throws -> String {
        guard let milliseconds else { return try await body() }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(milliseconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw TaskFailure(.timedOut, "timed out after \(Double(milliseconds) / 1000) s")
            }
            return result
        }
    }
}

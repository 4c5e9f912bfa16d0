import Logging
import ServiceLifecycle
import Synchronization
import TaskgateCore
import TaskgateRedis

/// Takes tasks off one queue (or several, by weight or in priority order) and runs them, `concurrency` at a time, until graceful shutdown.
///
/// One fetcher claims, in one atomic script, as many tasks as slots are idle (each moved to the active list
/// under a fresh token and lease), waiting with `BLMOVE` when the queue is empty. Each slot runs its task's
/// handler and records the outcome in one atomic step: succeeded (group-committed with other completions),
/// retrying with backoff, or dead. Beside them run three loops: a heartbeat that extends the leases of running tasks (and stops a task whose lease
/// was lost), a recovery pass that puts back tasks of dead workers, and a scheduler that moves due delayed
/// and retrying tasks to pending. On shutdown the worker stops claiming, gives running tasks the grace
/// period, then cancels them and puts them back on the queue.
public final class Worker: Service, Sendable {
    /// What the worker was built with.
    public let configuration: WorkerConfiguration
    /// What the worker counts (served by `taskgate worker --metrics-port`).
    public let metrics: WorkerMetrics
    private let handlers: HandlerRegistry
    let store: any TaskStore
    private let pipeline: RedisPipeline?
    let registry: QueueRegistry?
    /// Fires due schedules, when the worker is on Redis and configured to (`--schedules`).
    let scheduleFirer: ScheduleFirer?
    /// Tells the children and batches of the worker's queues' tasks how they ended (none over another store).
    let releaser: WorkflowReleaser?
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    let running = Mutex<[Int: RunningAttempt]>([:])
    private let handoff = ClaimHandoff()
    private let deadlines = AttemptDeadlines()
    /// The fetchers of a worker on several queues (`nil` on one queue: its fetchers claim directly).
    private let multiQueue = Mutex<MultiQueueFetcher?>(nil)

    /// A task a slot is running: the lease to extend and the attempt to stop when the lease is lost or its time
    /// is up.
    struct RunningAttempt: Sendable {
        let lease: Lease
        let attempt: Task<TaskResult, any Error>
        var deadline: ContinuousClock.Instant?
        var lost = false
        var timedOut = false
    }

    /// Creates a worker over Redis; claims and reports of all its slots share round trips through one pipeline.
    /// It counts into `metrics` when given (one made for its queues and slots otherwise).
    public convenience init(
        configuration: WorkerConfiguration, handlers: HandlerRegistry, metrics: WorkerMetrics? = nil, logger: Logger
    ) {
        let pool = RedisConnectionPool(configuration: configuration.redis, maxIdle: configuration.concurrency + 2)
        let pipeline = RedisPipeline(configuration: configuration.redis, label: "taskgate.worker.pipeline")
        self.init(
            configuration: configuration, handlers: handlers,
            store: RedisTaskStore(pool: pool, keys: configuration.keys, pipeline: pipeline), pipeline: pipeline,
            registry: QueueRegistry(pool: pool, keys: configuration.keys),
            scheduleFirer: configuration.firesSchedules
                ? ScheduleFirer(
                    pool: pool, keys: configuration.keys, claimMilliseconds: configuration.scheduleClaimMilliseconds)
                : nil,
            releaser: WorkflowReleaser(
                pool: pool, keys: configuration.keys, retentionMilliseconds: configuration.retentionMilliseconds,
                workflowRetentionMilliseconds: configuration.workflowRetentionMilliseconds),
            metrics: metrics, logger: logger)
    }

    /// Creates a worker over any task store.
    public convenience init(
        configuration: WorkerConfiguration, handlers: HandlerRegistry, store: any TaskStore, logger: Logger
    ) {
        self.init(
            configuration: configuration, handlers: handlers, store: store, pipeline: nil, registry: nil,
            scheduleFirer: nil, releaser: nil, metrics: nil, logger: logger)
    }

    private init(
        configuration: WorkerConfiguration, handlers: HandlerRegistry, store: any TaskStore, pipeline: RedisPipeline?,
        registry: QueueRegistry?, scheduleFirer: ScheduleFirer?, releaser: WorkflowReleaser?, metrics: WorkerMetrics?,
        logger: Logger
    ) {
        self.configuration = configuration
        self.metrics =
            metrics ?? WorkerMetrics(queues: configuration.queues.map(\.name), slots: configuration.concurrency)
        self.handlers = handlers
        self.store = store
        self.pipeline = pipeline
        self.registry = registry
        self.scheduleFirer = scheduleFirer
        self.releaser = releaser
        self.logger = logger
    }

    public func run() async throws {
        pipeline?.start()
        defer { pipeline?.stop() }
        // Only a worker on Redis itself listens for cancellations (one built over another store has no channel).
        let watcher = registry.map { _ in
            CancelWatcher(
                configuration: configuration.redis,
                channels: configuration.queues.map { configuration.keys.cancellations($0.name) }, logger: logger
            ) { [weak self] id in self?.stopCancelled(id) }
        }
        watcher?.start()
        defer { watcher?.stop() }
        let multiQueue = configuration.queues.count > 1 ? makeMultiQueueFetcher() : nil
        self.multiQueue.withLock { $0 = multiQueue }
        logger.info(
            "worker started",
            metadata: [
                "queue": "\(configuration.queues.map { "\($0.name)=\($0.weight)" }.joined(separator: ","))",
                "concurrency": "\(configuration.concurrency)",
                "order": "\(configuration.strictPriority ? "strict" : "weighted")",
                "schedules": "\(scheduleFirer != nil ? "on" : "off")",
            ])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.runScheduler() }
                group.addTask { await self.runRecovery() }
                if let scheduleFirer = self.scheduleFirer {
                    group.addTask { await self.runSchedules(scheduleFirer) }
                }
                if let releaser = self.releaser {
                    group.addTask { await self.runWorkflows(releaser) }
                }
                group.addTask {
                    // Heartbeats and time limits go on while slots finish their tasks during the grace period.
                    let heartbeat = Task { await self.runHeartbeat() }
                    let limits = Task { await self.deadlines.run { slot, deadline in self.expire(slot, deadline) } }
                    await withDiscardingTaskGroup { slots in
                        if let multiQueue { slots.addTask { await multiQueue.runWaits() } }
                        for fetcher in 0..<min(Self.fetchers, self.configuration.concurrency) {
                            slots.addTask {
                                if let multiQueue {
                                    await multiQueue.runFetcher(fetcher)
                                    await self.handoff.close()
                                    multiQueue.close()
                                } else {
                                    await self.runFetcher(fetcher)
                                }
                            }
                        }
                        for slot in 0..<self.configuration.concurrency {
                            slots.addTask { await self.runSlot(slot) }
                        }
                    }
                    heartbeat.cancel()
                    limits.cancel()
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        // Its connection closed before the worker says it stopped (the defer above only covers a throw).
        await watcher?.waitUntilStopped()
        logger.info("worker stopped")
    }

    /// Stops claiming; running tasks get the grace period, then are cancelled and put back.
    public func beginShutdown() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("shutting down: no new claims", metadata: ["grace": "\(configuration.gracePeriod)"])
        let grace = configuration.gracePeriod
        let handoff = self.handoff
        let multiQueue = self.multiQueue.withLock { $0 }
        Task { await handoff.close() }
        multiQueue?.close()
        Task {
            try? await Task.sleep(for: grace)
            let stragglers = self.running.withLock { $0.values.map(\.attempt) }
            if !stragglers.isEmpty {
                self.logger.warning(
                    "grace period over, stopping running tasks", metadata: ["count": "\(stragglers.count)"])
            }
            stragglers.forEach { $0.cancel() }
        }
    }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func makeMultiQueueFetcher() -> MultiQueueFetcher {
        let executor = BlockingExecutor(label: "taskgate.worker.put-back")
        return MultiQueueFetcher(
            configuration: configuration, store: store, handoff: handoff, logger: logger,
            isStopping: { [weak self] in self?.isStopping ?? true },
            putBack: { [weak self] lease in
                await self?.finish(lease, executor: executor, what: "requeue") { store throws(TaskStoreError) in
                    try store.requeue(lease)
                }
            })
    }

    /// Fetchers per worker (at most one per slot): while one claim is under way in Redis, the others' tasks
    /// are handed out and run, so the worker and Redis wait less for each other. Draining 100,000 no-op tasks
    /// with 256 slots, one fetcher managed 19,000-22,000 tasks/s, three 24,000-30,000 (runs vary that much).
    static let fetchers = 3

    /// Claims for idle slots: as many tasks as slots wait (and no other fetcher claims for), in one atomic
    /// step; when the queue is empty, waits for the next task with a blocking move instead of polling.
    private func runFetcher(_ index: Int) async {
        let executor = BlockingExecutor(label: "taskgate.worker.fetcher\(index)")
        let queue = configuration.queue
        let block = configuration.claimBlockMilliseconds
        let lease = configuration.leaseTiming.leaseMilliseconds
        let store = self.store
        var pause = Backoff()
        var held: TaskStoreError.Code?
        while !isStopping {
            let idle = await handoff.demand()
            guard idle > 0, !isStopping else { break }
            var claimed: [ClaimedTask]
            do throws(TaskStoreError) {
                claimed = try await executor.run { () throws(TaskStoreError) -> [ClaimedTask] in
                    let batch = try store.claimBatch(from: queue, max: idle, leaseMilliseconds: lease)
                    if !batch.isEmpty { return batch }
                    return try store.claim(from: queue, blockMilliseconds: block, leaseMilliseconds: lease).map { [$0] }
                        ?? []
                }
                pause.reset()
                held = nil
            } catch  where error.code.isHold {
                // The queue's settings hold claims back: nothing is wrong; look again when a claim can succeed.
                if held != error.code {
                    logger.info("claims held by the queue's settings", metadata: ["reason": "\(error.message)"])
                    held = error.code
                }
                _ = await handoff.deliver([], promised: idle)
                try? await Task.sleep(for: .milliseconds(Self.holdWait(error, claimBlock: block)))
                continue
            } catch {
                logger.warning("claim failed, retrying", metadata: ["error": "\(error)", "in": "\(pause.current)"])
                _ = await handoff.deliver([], promised: idle)
                await pause.wait()
                continue
            }
            let stopping = isStopping
            claimed = await handoff.deliver(stopping ? [] : claimed, promised: idle) + (stopping ? claimed : [])
            // Claimed while shutting down (no slot will take them): put back at once, unchanged.
            for task in claimed {
                await finish(task.lease, executor: executor, what: "requeue") { store throws(TaskStoreError) in
                    try store.requeue(task.lease)
                }
            }
            if isStopping { break }
        }
        await handoff.close()
    }

    /// How long a fetcher waits before claiming again from a queue whose settings held its claim back: a rate
    /// limit says when its next token is due; a queue at `max_active` is looked at again after 50 ms (a running
    /// task may end any moment); a paused one after the claim wait (1 s by default). Each look is one `HMGET`.
    static func holdWait(_ hold: TaskStoreError, claimBlock: Int) -> Int {
        switch hold.code {
        case .rateLimited: return max(1, min(hold.retryAfterMilliseconds ?? 50, claimBlock))
        case .maxActive: return min(50, claimBlock)
        default: return claimBlock
        }
    }

    private func runSlot(_ slot: Int) async {
        let executor = BlockingExecutor(label: "taskgate.worker.slot\(slot)")
        while let claimed = await handoff.next() {
            await execute(claimed, slot: slot, executor: executor)
        }
    }

    private func execute(_ claimed: ClaimedTask, slot: Int, executor: BlockingExecutor) async {
        let lease = claimed.lease
        // A child reads its parents' outcomes from its own hash: one more read, for tasks with `after` only.
        var withParents = claimed.record
        if !withParents.after.isEmpty, let redisStore = store as? RedisTaskStore {
            let claimedRecord = withParents
            if let full = try? await executor.run({ () throws(TaskStoreError) -> TaskRecord in
                try redisStore.parents(of: claimedRecord)
            }) {
                withParents = full
            }
        }
        let record = withParents
        let context = TaskContext(record: record)
        let handler = handlers.handler(for: record.type)
        let timeout = record.timeoutMilliseconds ?? configuration.defaultTimeoutMilliseconds
        let attempt = Task<TaskResult, any Error> {
            guard let handler else {
                throw TaskFailure(.noHandler, "no handler for task type \(record.type ?? "(none)")")
            }
            return try await handler.handle(context)
        }
        let began = ContinuousClock.now
        let deadline = timeout.map { began + .milliseconds($0) }
        metrics.started(record.queue)
        running.withLock { $0[slot] = RunningAttempt(lease: lease, attempt: attempt, deadline: deadline) }
        if let deadline { deadlines.set(slot, deadline: deadline) }
        var outcome = await attempt.result
        metrics.ended(type: record.type, after: .now - began)
        if deadline != nil { deadlines.clear(slot) }
        let (lost, timedOut) = running.withLock { running -> (Bool, Bool) in
            let ended = running.removeValue(forKey: slot)
            return (ended?.lost ?? false, ended?.timedOut ?? false)
        }
        let id = record.id
        let policy = configuration.retryPolicy
        let retention = configuration.retentionMilliseconds

        if lost {
            logger.warning(
                "lease lost while running; outcome discarded", metadata: LogFields.task(id, attempt: record.attempts))
            return
        }
        if timedOut, case .failure = outcome, let timeout {
            // Stopped because its time was up: that is the failure, whatever the handler threw on the way out.
            outcome = .failure(TaskFailure(.timedOut, "timed out after \(Double(timeout) / 1000) s"))
        } else if attempt.isCancelled && isStopping {
            logger.info("put back unfinished task", metadata: LogFields.task(id, attempt: record.attempts))
            await finish(lease, executor: executor, what: "requeue") { store throws(TaskStoreError) in
                try store.requeue(lease)
            }
            return
        }
        switch outcome {
        case .success(let result):
            logger.debug("task succeeded", metadata: LogFields.task(id, attempt: record.attempts))
            metrics.succeeded(record.queue)
            // The slot moves on at once; the completion rides the next pipeline round with other claims and
            // reports. Should it not land, it is recorded again with backoff (or recovery puts the task back).
            store.completeEventually(lease, result: result, retentionMilliseconds: retention) { error in
                guard error.code != .leaseLost else {
                    self.logger.warning(
                        "complete refused: lease lost",
                        metadata: LogFields.task(id, attempt: record.attempts, ["error": "\(error)"]))
                    return
                }
                Task {
                    await self.finish(lease, what: "complete") { store throws(TaskStoreError) in
                        try await store.recordSuccess(lease, result: result, retentionMilliseconds: retention)
                    }
                }
            }
        case .failure(let error):
            let failure = error as? TaskFailure
            let message = failure?.message ?? String(describing: error)
            // A handler that was told when to come back (Retry-After) is believed over the backoff policy.
            let backoff = failure?.retryAfterMilliseconds ?? policy.delayMilliseconds(forRetry: record.retries + 1)
            logger.info(
                "task failed", metadata: LogFields.task(id, attempt: record.attempts, ["error": "\(message)"]))
            metrics.failed(record.queue)
            let metrics = self.metrics
            await finish(lease, what: "fail") { store throws(TaskStoreError) in
                let outcome = try await store.recordFailure(
                    lease, error: message, backoffMilliseconds: backoff, retentionMilliseconds: retention)
                metrics.recorded(outcome, on: record.queue)
                return outcome
            }
        }
    }

    /// Records an outcome, retrying while Redis is unavailable: the task stays active, not lost, meanwhile
    /// (if the outage outlasts the lease, recovery hands the task to another attempt and this one is refused).
    private func finish<T: Sendable>(
        _ lease: Lease, executor: BlockingExecutor, what: String,
        _ step: @escaping @Sendable (any TaskStore) throws(TaskStoreError) -> T
    ) async {
        await finish(lease, what: what) { store throws(TaskStoreError) in
            try await executor.run { () throws(TaskStoreError) -> T in try step(store) }
        }
    }

    /// ``finish(_:executor:what:_:)`` for steps that do not block a thread.
    private func finish<T: Sendable>(
        _ lease: Lease, what: String, _ step: @escaping @Sendable (any TaskStore) async throws(TaskStoreError) -> T
    ) async {
        let store = self.store
        var pause = Backoff()
        for _ in 0..<20 {
            do throws(TaskStoreError) {
                _ = try await step(store)
                return
            } catch  where error.code.isTransient {
                logger.warning("\(what) failed, retrying", metadata: LogFields.task(lease.id, ["error": "\(error)"]))
                await pause.wait()
            } catch  where error.code == .leaseLost {
                logger.warning("\(what) refused: lease lost", metadata: LogFields.task(lease.id, ["error": "\(error)"]))
                return
            } catch {
                logger.error("\(what) failed", metadata: LogFields.task(lease.id, ["error": "\(error)"]))
                return
            }
        }
        logger.error("\(what) gave up; recovery will put the task back", metadata: LogFields.task(lease.id))
    }

    /// Stops the running attempt of a task an operator cancelled; its outcome is discarded (the task is
    /// `cancelled` already, and any report would be refused).
    private func stopCancelled(_ id: TaskID) {
        let attempt = running.withLock { running -> Task<TaskResult, any Error>? in
            guard let slot = running.first(where: { $0.value.lease.id == id })?.key else { return nil }
            running[slot]?.lost = true
            return running[slot]?.attempt
        }
        guard let attempt else { return }
        logger.info("task cancelled by an operator; stopping it", metadata: LogFields.task(id))
        attempt.cancel()
    }

    /// Stops the attempt in `slot` whose time ran out at `deadline` (not a later attempt in the same slot).
    private func expire(_ slot: Int, _ deadline: ContinuousClock.Instant) {
        let attempt = running.withLock { running -> Task<TaskResult, any Error>? in
            guard running[slot]?.deadline == deadline else { return nil }
            running[slot]?.timedOut = true
            return running[slot]?.attempt
        }
        attempt?.cancel()
    }
}

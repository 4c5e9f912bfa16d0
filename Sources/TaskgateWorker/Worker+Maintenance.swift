import TaskgateCore
import TaskgateRedis

/// The worker's loops beside its slots: heartbeats that keep the leases of running tasks, recovery of the tasks
/// of lost workers, and the scheduler that promotes due tasks and keeps the queues registered.
extension Worker {
    /// Extends the leases of running tasks; a task whose lease was lost is stopped, since another attempt owns it.
    func runHeartbeat() async {
        let executor = BlockingExecutor(label: "taskgate.worker.heartbeat")
        let timing = configuration.leaseTiming
        let store = self.store
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(timing.heartbeatMilliseconds))
            } catch {
                return
            }
            let leases = running.withLock { $0.values.map(\.lease) }
            guard !leases.isEmpty else { continue }
            do throws(TaskStoreError) {
                let lost = try await executor.run { () throws(TaskStoreError) -> [Lease] in
                    try store.extend(leases, leaseMilliseconds: timing.leaseMilliseconds)
                }
                for lease in lost {
                    // A task that finished since the heartbeat looked has no lease left either: not a loss.
                    let attempt = running.withLock { running -> Task<TaskResult, any Error>? in
                        guard let slot = running.first(where: { $0.value.lease == lease })?.key else { return nil }
                        running[slot]?.lost = true
                        return running[slot]?.attempt
                    }
                    guard let attempt else { continue }
                    logger.warning("lease lost; stopping the task", metadata: LogFields.task(lease.id))
                    attempt.cancel()
                }
            } catch {
                logger.warning("heartbeat failed, retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Puts back the tasks of workers that died: expired leases, and claims that never got a lease (on each of
    /// the worker's queues in turn).
    func runRecovery() async {
        let executor = BlockingExecutor(label: "taskgate.worker.recovery")
        let queues = configuration.queues.map(\.name)
        let timing = configuration.leaseTiming
        let retention = configuration.retentionMilliseconds
        let store = self.store
        var pause = Backoff()
        while !isStopping {
            do throws(TaskStoreError) {
                for queue in queues {
                    let recovery = try await executor.run { () throws(TaskStoreError) -> Recovery in
                        try store.recover(
                            in: queue, limit: 100, unleasedGraceMilliseconds: timing.leaseMilliseconds,
                            retentionMilliseconds: retention)
                    }
                    metrics.recovered(recovery.recovered, on: queue)
                    if recovery.recovered > 0 || recovery.dropped > 0 {
                        logger.warning(
                            "recovered tasks of lost workers",
                            metadata: [
                                "queue": "\(queue)", "retried": "\(recovery.retried)",
                                "dead": "\(recovery.deadLettered)", "unclaimed": "\(recovery.unclaimed)",
                                "dropped": "\(recovery.dropped)",
                            ])
                    }
                }
                pause.reset()
                try? await Task.sleep(for: .milliseconds(timing.recoveryIntervalMilliseconds))
            } catch {
                logger.warning("recovery failed, retrying", metadata: ["error": "\(error)"])
                await pause.wait()
            }
        }
    }

    /// Moves due delayed and retrying tasks of each of the worker's queues to pending, and keeps the queues
    /// registered.
    func runScheduler() async {
        let executor = BlockingExecutor(label: "taskgate.worker.scheduler")
        let queues = configuration.queues.map(\.name)
        let interval = configuration.schedulerIntervalMilliseconds
        let store = self.store
        var pause = Backoff()
        let registry = self.registry
        // The queues are registered at start and again every minute (see QueueRegistry: that repairs a lost entry).
        var registration = ContinuousClock.now
        while !isStopping {
            if let registry, ContinuousClock.now >= registration {
                let registered = await executor.run { () -> Bool in (try? registry.register(queues)) != nil }
                registration = ContinuousClock.now + (registered ? QueueRegistry.repairInterval : .seconds(1))
            }
            do throws(TaskStoreError) {
                var wait = interval
                for queue in queues {
                    let promotion = try await executor.run { () throws(TaskStoreError) -> Promotion in
                        try store.promoteDue(in: queue, limit: 100)
                    }
                    if promotion.promoted > 0 {
                        logger.debug(
                            "promoted due tasks", metadata: ["queue": "\(queue)", "count": "\(promotion.promoted)"])
                    }
                    wait = min(wait, promotion.nextDueInMilliseconds ?? interval)
                }
                pause.reset()
                if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
            } catch {
                logger.warning("scheduler failed, retrying", metadata: ["error": "\(error)"])
                await pause.wait()
            }
        }
    }

    /// Fires due schedules (see ``ScheduleFirer``): a pass at once after a full one, otherwise when the next is
    /// due, and at least every ``scheduleLookMilliseconds`` (schedules put meanwhile are due from their first
    /// tick, which a look finds at most that late).
    func runSchedules(_ firer: ScheduleFirer) async {
        let executor = BlockingExecutor(label: "taskgate.worker.schedules")
        var pause = Backoff()
        while !isStopping {
            do throws(TaskStoreError) {
                let pass = try await executor.run { () throws(TaskStoreError) -> ScheduleFirer.Pass in
                    try firer.fire()
                }
                metrics.firedSchedules(pass.fired, missed: pass.missed)
                if pass.unfinished > 0 {
                    logger.warning(
                        "schedules left to their claim's end, another pass fires them",
                        metadata: ["count": "\(pass.unfinished)"])
                }
                pause.reset()
                guard pass.claimed < firer.batch else { continue }
                let wait = min(
                    Self.scheduleLookMilliseconds, pass.nextDueInMilliseconds ?? Self.scheduleLookMilliseconds)
                if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
            } catch {
                logger.warning("firing schedules failed, retrying", metadata: ["error": "\(error)"])
                await pause.wait()
            }
        }
    }

    /// Drains the outboxes of the worker's queues (and those a cascade reaches): children released or
    /// cancelled, batches counted. Again at once after a pass that found work, else after 250 ms.
    func runWorkflows(_ releaser: WorkflowReleaser) async {
        let executor = BlockingExecutor(label: "taskgate.worker.workflows")
        let queues = configuration.queues.map(\.name)
        var pause = Backoff()
        while !isStopping {
            do throws(TaskStoreError) {
                let pass = try await executor.run { () throws(TaskStoreError) -> WorkflowReleaser.Pass in
                    try releaser.pass(queues)
                }
                pause.reset()
                if pass.drained == 0 { try? await Task.sleep(for: .milliseconds(Self.scheduleLookMilliseconds)) }
            } catch {
                logger.warning("telling workflow children failed, retrying", metadata: ["error": "\(error)"])
                await pause.wait()
            }
        }
    }

    /// The longest pause between two looks for due schedules (ms).
    static let scheduleLookMilliseconds = 250
}

import CoreMetrics
import Synchronization
import TaskgateCore
import TaskgateMetrics

/// A worker's Prometheus metrics, served on its `--metrics-port` at `/metrics`.
///
/// Per queue: `taskgate_worker_tasks_started_total`, `_succeeded_total`, `_failed_total` (every failed
/// attempt), `_retried_total` and `_dead_total` (what became of the failed ones), `_recovered_total` (tasks of
/// lost workers this worker's recovery put back); per task type the run-time histogram
/// `taskgate_worker_task_duration_seconds{type}`; and `taskgate_worker_slots_busy` beside
/// `taskgate_worker_slots`; `taskgate_worker_schedule_runs_total` and `taskgate_worker_schedule_missed_total`
/// (tasks this worker's passes stored for schedules, and ticks they counted missed). Nothing here touches Redis: a scrape reads memory only.
public final class WorkerMetrics: Sendable {
    /// The registry and the text format.
    public let exposition: MetricsExposition

    private struct QueueCounters: Sendable {
        let started: Counter
        let succeeded: Counter
        let failed: Counter
        let retried: Counter
        let dead: Counter
        let recovered: Counter
    }

    /// The most task types given a histogram of their own; the rest share `type="other"`, so that labels
    /// stay few whatever types clients send.
    static let maxTypes = 100

    private let queues: [QueueName: QueueCounters]
    private let durations = Mutex<[String: Timer]>([:])
    private let busy = Atomic<Int>(0)
    private let busyGauge: Gauge
    private let scheduleRuns: Counter
    private let scheduleMisses: Counter

    /// Creates the metrics of a worker on `queues` with `slots` slots.
    public init(queues: [QueueName], slots: Int) {
        let exposition = MetricsExposition(durationBuckets: [
            "taskgate_worker_task_duration_seconds": MetricsExposition.runTimeBuckets
        ])
        let factory = exposition.factory
        self.exposition = exposition
        var counters: [QueueName: QueueCounters] = [:]
        for queue in queues {
            let make = { (name: String) in
                Counter(
                    label: "taskgate_worker_tasks_\(name)_total", dimensions: [("queue", queue.rawValue)],
                    factory: factory)
            }
            counters[queue] = QueueCounters(
                started: make("started"), succeeded: make("succeeded"), failed: make("failed"),
                retried: make("retried"), dead: make("dead"), recovered: make("recovered"))
        }
        self.queues = counters
        busyGauge = Gauge(label: "taskgate_worker_slots_busy", factory: factory)
        busyGauge.record(0)
        Gauge(label: "taskgate_worker_slots", factory: factory).record(slots)
        scheduleRuns = Counter(label: "taskgate_worker_schedule_runs_total", factory: factory)
        scheduleMisses = Counter(label: "taskgate_worker_schedule_missed_total", factory: factory)
    }

    /// A pass over due schedules stored `fired` tasks and counted `missed` ticks.
    func firedSchedules(_ fired: Int, missed: Int) {
        if fired > 0 { scheduleRuns.increment(by: fired) }
        if missed > 0 { scheduleMisses.increment(by: missed) }
    }

    /// A slot started an attempt of a task on `queue`.
    func started(_ queue: QueueName) {
        queues[queue]?.started.increment()
        busyGauge.record(busy.add(1, ordering: .relaxed).newValue)
    }

    /// The attempt ended after `elapsed` (its outcome is counted apart).
    func ended(type: String?, after elapsed: Duration) {
        busyGauge.record(busy.subtract(1, ordering: .relaxed).newValue)
        let name = type ?? ""
        let factory = exposition.factory
        let timer = durations.withLock { durations -> Timer in
            if let timer = durations[name] { return timer }
            let label = durations.count < Self.maxTypes ? name : "other"
            if let shared = durations[label] { return shared }
            let timer = Timer(
                label: "taskgate_worker_task_duration_seconds", dimensions: [("type", label)], factory: factory)
            durations[label] = timer
            return timer
        }
        let (seconds, attoseconds) = elapsed.components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// An attempt succeeded.
    func succeeded(_ queue: QueueName) {
        queues[queue]?.succeeded.increment()
    }

    /// An attempt failed (before its outcome is known).
    func failed(_ queue: QueueName) {
        queues[queue]?.failed.increment()
    }

    /// A failed attempt's task was scheduled again or dead-lettered.
    func recorded(_ outcome: FailureOutcome, on queue: QueueName) {
        switch outcome {
        case .retrying: queues[queue]?.retried.increment()
        case .dead: queues[queue]?.dead.increment()
        }
    }

    /// Recovery put back `count` tasks of lost workers.
    func recovered(_ count: Int, on queue: QueueName) {
        if count > 0 { queues[queue]?.recovered.increment(by: count) }
    }
}

import CoreMetrics
import Synchronization
import TaskgateCore
import TaskgateHTTP
import TaskgateMetrics
import TaskgateRedis

/// The gateway's Prometheus metrics, served at `GET /metrics`.
///
/// Counted as requests are answered: `taskgate_http_requests_total{route,method,status}`,
/// `taskgate_http_request_duration_seconds{route,method}` (a histogram), `taskgate_tasks_accepted_total{queue}`
/// and `taskgate_redis_errors_total{code}`. Read at scrape time from Redis, under the operator's cost rule:
/// `taskgate_queue_depth{queue,state}`, `taskgate_queue_paused{queue}` and
/// `taskgate_queue_oldest_pending_age_seconds{queue}`. A scrape costs what `GET /queues` costs: per registered
/// queue the `LLEN`s, `ZCARD`s, `HGETALL`s and `LINDEX` + `HMGET` of ``QueueInspector``, in two pipelined
/// rounds per 1,000 queues (bench section 7: 100 queues over 1,000,000 tasks cost 4.1 ms of Redis time); never
/// a look at tasks.
///
/// Queue labels are bounded: the first ``maxQueueLabels`` queues this process sees are labelled by name, and the
/// figures of any other are folded into `queue="_other"` (depths and accepted counts summed, `paused` the number
/// of those paused, the oldest pending age the largest), so a client that makes many queues cannot grow the
/// exposition without end.
public final class GatewayMetrics: Sendable {
    /// The default of ``maxQueueLabels`` (`--metrics-max-queues`).
    public static let defaultMaxQueueLabels = 100
    /// The label of every queue past ``maxQueueLabels``.
    public static let otherQueues = "_other"
    /// How many queues get a label of their own.
    public let maxQueueLabels: Int
    /// The registry and the text format.
    public let exposition: MetricsExposition

    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct LatencyKey: Hashable {
        let route: String
        let method: String
    }

    /// A route's request counter and latency timer.
    private struct RequestHandles {
        let counter: Counter
        let timer: Timer
    }

    /// The metric objects made so far, so an answer costs a dictionary look-up, not a registry one.
    private struct Made {
        var requests: [RequestKey: RequestHandles] = [:]
        var latencies: [LatencyKey: Timer] = [:]
        /// The accepted counters of the queues labelled by name (bounded as the labels are), and the one of all others.
        var accepted: [QueueName: Counter] = [:]
        var acceptedOthers: Counter?
        var redisErrors: [String: Counter] = [:]
        /// The queues labelled by name, at most ``maxQueueLabels``.
        var labelled: Set<QueueName> = []
    }

    private let made = Mutex(Made())

    /// Creates the gateway's metrics on a registry of their own; `maxQueueLabels` queues get labels by name.
    public init(maxQueueLabels: Int = GatewayMetrics.defaultMaxQueueLabels) {
        self.maxQueueLabels = max(0, maxQueueLabels)
        exposition = MetricsExposition(durationBuckets: [
            "taskgate_http_request_duration_seconds": MetricsExposition.latencyBuckets
        ])
    }

    /// Counts an answer to a request on `route` (the route's pattern, or `unmatched`): one dictionary look-up
    /// under a lock, then a counter's atomic add and the histogram's own lock.
    func answered(route: String, method: String, status: Int, after elapsed: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        let handles = made.withLock { $0.requests[key] } ?? makeHandles(key)
        handles.counter.increment()
        let (seconds, attoseconds) = elapsed.components
        handles.timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The counter and timer of a route, method and status seen for the first time.
    private func makeHandles(_ key: RequestKey) -> RequestHandles {
        let factory = exposition.factory
        return made.withLock { made in
            if let handles = made.requests[key] { return handles }
            let latencyKey = LatencyKey(route: key.route, method: key.method)
            let timer =
                made.latencies[latencyKey]
                ?? Timer(
                    label: "taskgate_http_request_duration_seconds",
                    dimensions: [("route", key.route), ("method", key.method)], factory: factory)
            made.latencies[latencyKey] = timer
            let handles = RequestHandles(
                counter: Counter(
                    label: "taskgate_http_requests_total",
                    dimensions: [("route", key.route), ("method", key.method), ("status", String(key.status))],
                    factory: factory),
                timer: timer)
            made.requests[key] = handles
            return handles
        }
    }

    /// Counts a task stored by `POST /tasks` or a batch (not a replay).
    func accepted(_ queue: QueueName) {
        let factory = exposition.factory
        let limit = maxQueueLabels
        let counter = made.withLock { made -> Counter in
            // One hash of the name for a queue counted before (every POST after its queue's first).
            if let counter = made.accepted[queue] { return counter }
            let label = Self.label(queue, in: &made, limit: limit)
            if label == Self.otherQueues, let counter = made.acceptedOthers { return counter }
            let counter = Counter(
                label: "taskgate_tasks_accepted_total", dimensions: [("queue", label)], factory: factory)
            if label == Self.otherQueues { made.acceptedOthers = counter } else { made.accepted[queue] = counter }
            return counter
        }
        counter.increment()
    }

    /// The label of `queue`: its name while fewer than `limit` queues have one (or it has one), else `_other`.
    private static func label(_ queue: QueueName, in made: inout Made, limit: Int) -> String {
        if made.labelled.contains(queue) { return queue.rawValue }
        guard made.labelled.count < limit else { return otherQueues }
        made.labelled.insert(queue)
        return queue.rawValue
    }

    /// Counts an error of a Redis connection or command, by its code (`io`, `server`, `connection-failed`...).
    public func redisError(_ error: RedisError) {
        let factory = exposition.factory
        let code = error.code.description
        let counter = made.withLock { made -> Counter in
            if let counter = made.redisErrors[code] { return counter }
            let counter = Counter(label: "taskgate_redis_errors_total", dimensions: [("code", code)], factory: factory)
            made.redisErrors[code] = counter
            return counter
        }
        counter.increment()
    }

    /// Reads every registered queue's figures into the gauges and answers with every metric. With Redis down
    /// the answer is a 503 problem (a scrape that failed, which Prometheus records as `up == 0`).
    func scrape(inspector: QueueInspector?, retryAfterSeconds: Int) -> HTTPResponse {
        if let inspector {
            do throws(TaskStoreError) {
                var cursor: QueueName?
                var other = QueueFigures()
                var folded = false
                repeat {
                    let page = try inspector.summaries(after: cursor, limit: QueueInspector.maxPage)
                    for summary in page.queues {
                        let limit = maxQueueLabels
                        let label = made.withLock { Self.label(summary.queue, in: &$0, limit: limit) }
                        if label == Self.otherQueues {
                            other.add(summary)
                            folded = true
                        } else {
                            var figures = QueueFigures()
                            figures.add(summary)
                            record(figures, label: label)
                        }
                    }
                    cursor = page.next
                } while cursor != nil
                if folded { record(other, label: Self.otherQueues) }
            } catch {
                return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
            }
        }
        return exposition.response()
    }

    /// One label's figures: a queue's, or the sum of the queues folded into `_other`.
    private struct QueueFigures {
        var depths = QueueDepths()
        var paused = 0
        var oldestPendingAgeMilliseconds = 0

        mutating func add(_ summary: QueueSummary) {
            depths.pending += summary.depths.pending
            depths.scheduled += summary.depths.scheduled
            depths.retrying += summary.depths.retrying
            depths.active += summary.depths.active
            depths.dead += summary.depths.dead
            paused += summary.isPaused ? 1 : 0
            oldestPendingAgeMilliseconds = max(oldestPendingAgeMilliseconds, summary.oldestPendingAgeMilliseconds ?? 0)
        }
    }

    private func record(_ figures: QueueFigures, label queue: String) {
        let factory = exposition.factory
        let depths = figures.depths
        let states = [
            ("pending", depths.pending), ("scheduled", depths.scheduled), ("retrying", depths.retrying),
            ("active", depths.active), ("dead", depths.dead),
        ]
        for (state, count) in states {
            Gauge(label: "taskgate_queue_depth", dimensions: [("queue", queue), ("state", state)], factory: factory)
                .record(count)
        }
        Gauge(label: "taskgate_queue_paused", dimensions: [("queue", queue)], factory: factory)
            .record(figures.paused)
        Gauge(label: "taskgate_queue_oldest_pending_age_seconds", dimensions: [("queue", queue)], factory: factory)
            .record(Double(figures.oldestPendingAgeMilliseconds) / 1000)
    }
}

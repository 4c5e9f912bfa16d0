import Glibc
import Logging
import ServiceLifecycle
import Synchronization
import TaskgateCore
import TaskgateRedis

/// Delivers completion callbacks: POSTs each final task's record to its `callback_url`, signed as Standard
/// Webhooks do, until a 2xx answer or the tries run out.
///
/// Deliveries are durable: the script that made the task final made its delivery due in the same step, and
/// each try holds it under a lease (``CallbackConfiguration/leaseMilliseconds``), so a deliverer killed
/// mid-try leaves it to another. Before each try the host is checked against the allow list again; one no
/// longer allowed is not called and the delivery is dead at once. No redirects are followed (a 3xx is a
/// failure), the answer is read up to a small bound, and each try has a time limit. Headers: `content-type`,
/// `user-agent: taskgate`, `taskgate-task-id`, `taskgate-callback-try`, and with a signer `webhook-id`
/// (`callback_<task id>`, the same on every try), `webhook-timestamp` and `webhook-signature`.
///
/// A complete batch's webhook (its `callback_url`) goes the same way: its record as the body, `taskgate-batch-id`,
/// and `webhook-id` `batch_<id>`; it is due once per batch, whichever worker's deliverer takes it.
public final class CallbackDeliverer: Service, Sendable {
    /// What the deliverer was built with.
    public let configuration: CallbackConfiguration
    private let store: RedisCallbackStore
    private let client: OutboundHTTPClient
    private let logger: Logger
    private let inFlight = Atomic<Int>(0)
    /// Where the Redis calls run (hiredis blocks): never on a thread of Swift concurrency.
    private let redis = BlockingExecutor(label: "taskgate.worker.callbacks")

    /// Creates a deliverer with its own connections to Redis and to the receivers.
    public init(configuration: CallbackConfiguration, logger: Logger) {
        self.configuration = configuration
        self.store = RedisCallbackStore(
            pool: RedisConnectionPool(configuration: configuration.redis, maxIdle: configuration.concurrency + 1),
            keys: configuration.keys)
        self.client = OutboundHTTPClient(connectionsPerHost: configuration.concurrency)
        self.logger = logger
    }

    public func run() async throws {
        logger.info(
            "callback deliverer started",
            metadata: [
                "queues": "\(configuration.queues.map(\.rawValue))", "concurrency": "\(configuration.concurrency)",
            ])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    var taken = 0
                    for queue in self.configuration.queues {
                        let free = self.configuration.concurrency - self.inFlight.load(ordering: .relaxed)
                        guard free > 0 else { break }
                        let due: [CallbackTry]
                        do {
                            let store = self.store
                            let lease = self.configuration.leaseMilliseconds
                            due = try await self.redis.run {
                                try store.claimDue(in: queue, max: free, leaseMilliseconds: lease)
                            }
                        } catch {
                            self.logger.warning("cannot take due callbacks", metadata: ["error": "\(error)"])
                            continue
                        }
                        taken += due.count
                        for attempt in due { self.spawn(in: &group) { await self.deliver(attempt) } }
                    }
                    // Batch webhooks: one set for every queue, taken by any deliverer with room.
                    let free = self.configuration.concurrency - self.inFlight.load(ordering: .relaxed)
                    if free > 0 {
                        let store = self.store
                        let lease = self.configuration.leaseMilliseconds
                        do {
                            let due = try await self.redis.run {
                                try store.claimDueBatches(max: free, leaseMilliseconds: lease)
                            }
                            taken += due.count
                            for attempt in due { self.spawn(in: &group) { await self.deliver(attempt) } }
                        } catch {
                            self.logger.warning("cannot take due batch webhooks", metadata: ["error": "\(error)"])
                        }
                    }
                    // Straight on while there was work and room; else the next look after the poll interval.
                    if taken == 0 || self.inFlight.load(ordering: .relaxed) >= self.configuration.concurrency {
                        try? await Task.sleep(for: .milliseconds(self.configuration.pollIntervalMilliseconds))
                    }
                }
            }
        }
        client.shutdown()
        logger.info("callback deliverer stopped")
    }

    /// Runs one delivery in `group`, counted in flight while it runs.
    private func spawn(in group: inout DiscardingTaskGroup, _ delivery: @escaping @Sendable () async -> Void) {
        inFlight.add(1, ordering: .relaxed)
        group.addTask {
            await delivery()
            self.inFlight.subtract(1, ordering: .relaxed)
        }
    }

    /// One try, and its outcome recorded.
    func deliver(_ attempt: CallbackTry) async {
        let outcome = await tryDelivery(attempt)
        // Stopping mid-try: nothing is recorded, and the lease brings the delivery back to whoever runs next.
        guard !Task.isCancelled else { return }
        do {
            let store = self.store
            let retention = configuration.retentionMilliseconds
            let held = try await redis.run {
                try store.finish(attempt, outcome, retentionMilliseconds: retention)
            }
            if !held {
                logger.info("a callback try outlived its lease", metadata: LogFields.task(attempt.id))
            }
        } catch {
            // The delivery stays leased; when the lease ends it is due again and tried again.
            logger.warning("cannot record a callback try", metadata: LogFields.task(attempt.id, ["error": "\(error)"]))
        }
        switch outcome {
        case .dead(let status, let error):
            logger.warning(
                "callback delivery gave up",
                metadata: LogFields.task(
                    attempt.id, ["status": "\(status.map(String.init) ?? "none")", "error": "\(error)"]))
        default:
            break
        }
    }

    private func tryDelivery(_ attempt: CallbackTry) async -> CallbackOutcome {
        guard let text = attempt.record.callbackURL else {
            return .dead(status: nil, error: "the task has no valid callback_url")
        }
        return await post(
            text, body: attempt.record.json, webhookID: "callback_" + attempt.id.rawValue, number: attempt.number,
            headers: [("taskgate-task-id", attempt.id.rawValue)], log: LogFields.task(attempt.id))
    }

    /// One try at a batch's webhook, and its outcome recorded.
    func deliver(_ attempt: BatchCallbackTry) async {
        let log: Logger.Metadata = ["batch": "\(attempt.id)"]
        let outcome: CallbackOutcome
        if let text = attempt.record.callbackURL {
            outcome = await post(
                text, body: attempt.record.json, webhookID: "batch_" + attempt.id, number: attempt.number,
                headers: [("taskgate-batch-id", attempt.id)], log: log)
        } else {
            outcome = .dead(status: nil, error: "the batch has no valid callback_url")
        }
        guard !Task.isCancelled else { return }
        do {
            let store = self.store
            let held = try await redis.run { try store.finish(attempt, outcome) }
            if !held { logger.info("a batch webhook try outlived its lease", metadata: log) }
        } catch {
            // The webhook stays leased; when the lease ends it is due again and tried again.
            logger.warning("cannot record a batch webhook try", metadata: log.merging(["error": "\(error)"]) { $1 })
        }
        if case .dead(let status, let error) = outcome {
            logger.warning(
                "batch webhook delivery gave up",
                metadata: log.merging(["status": "\(status.map(String.init) ?? "none")", "error": "\(error)"]) { $1 })
        }
    }

    /// POSTs `body` to `text` once, signed with `webhookID`, and says what follows: delivered, a retry after the
    /// configured delay for try `number`, or dead.
    private func post(
        _ text: String, body: [UInt8], webhookID: String, number: Int, headers extra: [(name: String, value: String)],
        log: Logger.Metadata
    ) async -> CallbackOutcome {
        guard let url = CallbackURL(text) else {
            return .dead(status: nil, error: "the callback_url is not valid")
        }
        guard configuration.allow.allows(url) else {
            return .dead(
                status: nil, error: "host \(url.host) is not allowed by this worker's --callback-allow; not called")
        }
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"), ("user-agent", "taskgate"),
        ]
        headers += extra
        headers.append(("taskgate-callback-try", String(number)))
        if let signer = configuration.signer {
            headers += signer.headers(id: webhookID, timestamp: Int(time(nil)), body: body)
        }
        let allow = configuration.allow
        var request = OutboundRequest(
            url: text, headers: headers, body: body, connectTimeoutMilliseconds: configuration.timeoutMilliseconds,
            timeoutMilliseconds: configuration.timeoutMilliseconds, maxBodyBytes: configuration.maxAnswerBytes)
        // What the name resolved to is checked again as each connection opens: a name may point at loopback, a
        // link-local or a metadata address, which only an address entry of --callback-allow allows.
        request.connectPolicy = { allow.allowsConnection(to: $0) }
        // What is recorded (the task's callback last_error, readable by whoever can read the task) names the
        // receiver's origin and its status only: no path or query (they may hold a key), no answer body and no
        // connection error, which together would map the services the worker can reach.
        let origin = url.origin
        var status: Int?
        var failure: String
        var retryAfter: Int?
        do {
            let response = try await client.post(request)
            let code = response.status
            status = code
            if (200..<300).contains(code) { return .delivered(status: code) }
            failure = "HTTP \(code) from \(origin)"
            if code == 429 || code == 503, let value = response.retryAfter {
                retryAfter = RetryAfter.milliseconds(value)
            }
        } catch let error as OutboundHTTPError where error.refusedAddress != nil {
            logger.info(
                "callback host resolved to an address --callback-allow does not name",
                metadata: log.merging(["origin": "\(origin)"]) { $1 })
            return .dead(
                status: nil,
                error: "POST \(origin) not made: its host resolves to an internal-only address (loopback, link-local "
                    + "or metadata) that this worker's --callback-allow does not name")
        } catch {
            logger.debug(
                "callback try got no answer",
                metadata: log.merging(["origin": "\(origin)", "error": "\(error)"]) { $1 })
            failure = "POST \(origin) failed: no HTTP answer (not reached, or no answer in time)"
        }
        let delays = configuration.retryDelaysMilliseconds
        guard number <= delays.count else {
            return .dead(status: status, error: failure + " (try \(number) of \(delays.count + 1), the last)")
        }
        let delay = max(delays[number - 1], retryAfter ?? 0)
        return .retry(status: status, error: failure, delayMilliseconds: delay)
    }
}

import Logging
import ServiceLifecycle
import TaskgateCore
import TaskgateHTTP
import TaskgateRedis

/// The gateway as a service: serves HTTP until graceful shutdown, then stops accepting, answers what it
/// holds and returns.
public final class Gateway: Service, Sendable {
    /// The HTTP server, started by ``start()`` or ``run()``.
    public let server: HTTPServer
    /// The Redis connections the gateway uses.
    public let pool: RedisConnectionPool
    /// The writer that pipelines every `POST /tasks` over one connection.
    public let enqueuer: PipelinedEnqueuer
    /// The one Redis subscriber that feeds every event stream and long-poll.
    public let events: EventHub
    /// The metrics `GET /metrics` serves.
    public let metrics: GatewayMetrics
    private let responder: GatewayResponder
    private let pruning: QueuePruning
    private let logger: Logger

    /// Builds the gateway the `taskgate serve` binary runs; tests build the very same one.
    public init(configuration: GatewayConfiguration, logger: Logger) {
        let metrics = GatewayMetrics(maxQueueLabels: configuration.metricsMaxQueues)
        let pool = RedisConnectionPool(
            configuration: configuration.redis, maxIdle: max(4, configuration.http.threads * 2),
            onError: { metrics.redisError($0) })
        let store = RedisTaskStore(pool: pool, keys: configuration.keys)
        let enqueuer = PipelinedEnqueuer(
            store: store, redis: configuration.redis, onError: { metrics.redisError($0) })
        self.metrics = metrics
        self.pool = pool
        self.enqueuer = enqueuer
        self.logger = logger
        let events = EventHub(redis: configuration.redis, keys: configuration.keys, logger: logger)
        let budget = MemoryBudget(limit: configuration.http.maxInflightBodyBytes)
        self.events = events
        let operations = GatewayResponder.Operations(
            pool: pool, keys: configuration.keys, retentionMilliseconds: configuration.pull.retentionMilliseconds,
            maxQueues: configuration.maxQueues, allowedQueues: configuration.allowedQueues,
            maxSchedules: configuration.maxSchedules,
            workflowRetentionMilliseconds: configuration.workflowRetentionMilliseconds)
        self.pruning = QueuePruning(pruner: operations.pruner, logger: logger)
        let responder = GatewayResponder(
            store: store, enqueuer: enqueuer, logger: logger, tokens: configuration.tokens,
            openAccess: configuration.openAccess,
            idempotencyWindowMilliseconds: configuration.idempotencyWindowMilliseconds, pull: configuration.pull,
            notifications: NotificationsAPI(
                store: store, hub: events, budget: budget, streamBufferBytes: configuration.streamBufferBytes,
                retryAfterSeconds: GatewayResponder.retryAfterSeconds, gate: operations.gate),
            callbackAllow: configuration.callbackAllow,
            operations: operations,
            metrics: metrics,
            // Read again at every probe, so a setting changed at run time shows: one round trip.
            durability: {
                try? pool.withConnectionRetryingOnce { connection throws(RedisError) in
                    try RedisDurability.read(on: connection)
                }
            })
        self.responder = responder
        self.server = HTTPServer(
            configuration: configuration.http, responder: responder, logger: logger, budget: budget)
    }

    /// The bound port (after ``start()``).
    public var port: Int { server.port }

    /// Starts listening without waiting for shutdown (for embedding and tests).
    public func start() throws(HTTPServerError) {
        enqueuer.start()
        events.start()
        do {
            try server.start()
        } catch {
            events.stop()
            enqueuer.stop()
            throw error
        }
        pruning.start()
    }

    /// Stops accepting, drains requests in flight (the enqueuer answers every one it holds), and stops.
    public func stop() {
        // Waiting pull claims, event streams and long-polls are answered first: libmicrohttpd must not stop
        // with a connection suspended.
        responder.shutdown()
        pruning.stop()
        server.stop()
        enqueuer.stop()
        pool.drain()
    }

    public func run() async throws {
        try start()
        try? await gracefulShutdown()
        logger.info("shutting down: no new connections, answering requests in flight")
        stop()
    }
}

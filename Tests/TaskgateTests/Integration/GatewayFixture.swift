import Foundation
import Logging
import TaskgateCore
import TaskgateGateway
import TaskgateHTTP

/// The very gateway `taskgate serve` runs, in process, on a free port and a test namespace.
final class GatewayFixture: Sendable {
    let gateway: Gateway
    let namespace: TestNamespace
    let client: HTTPClient

    init(
        namespace: TestNamespace, maxBodyBytes: Int = 1 << 20, tokens: BearerTokens? = nil,
        http: HTTPServerConfiguration? = nil, commandTimeoutMilliseconds: Int? = nil,
        pull: PullConfiguration = PullConfiguration(), callbackAllow: CallbackAllowList = .none,
        streamBufferBytes: Int = 64 * 1024, openAccess: OpenAccess = OpenAccess(),
        maxQueues: Int = QueueRegistry.defaultMaxQueues, metricsMaxQueues: Int = GatewayMetrics.defaultMaxQueueLabels
    ) throws {
        self.namespace = namespace
        var logger = Logger(label: "test-gateway")
        logger.logLevel = .critical
        var redis = namespace.server.configuration
        if let commandTimeoutMilliseconds { redis.commandTimeoutMilliseconds = commandTimeoutMilliseconds }
        var configuration = GatewayConfiguration(
            // A short drain: a test that stops its gateway with a stream still open waits 1 s, not 10.
            http: http
                ?? HTTPServerConfiguration(
                    host: "127.0.0.1", port: 0, threads: 2, maxBodyBytes: maxBodyBytes, drainTimeoutSeconds: 1),
            redis: redis, keys: namespace.keys, tokens: tokens, openAccess: openAccess, pull: pull,
            callbackAllow: callbackAllow, streamBufferBytes: streamBufferBytes)
        configuration.maxQueues = maxQueues
        configuration.metricsMaxQueues = metricsMaxQueues
        gateway = Gateway(configuration: configuration, logger: logger)
        try gateway.start()
        client = HTTPClient(port: gateway.port)
    }

    func stop() {
        gateway.stop()
    }

    /// Registers `queues` as a worker that serves them does at start: a queue stream follows registered queues
    /// only (a name no task or worker ever used is a 404, not a subscription).
    func register(_ queues: String...) throws {
        try QueueRegistry(pool: namespace.pool, keys: namespace.keys).register(queues.compactMap(QueueName.init))
    }

    /// POSTs a task and returns its id, requiring a 202.
    func submit(_ json: String) throws -> String {
        let response = try client.post("/tasks", json: json)
        guard response.status == 202, let id = response.json["id"] as? String else {
            throw TestFailure("POST /tasks answered \(response.status): \(response.text)")
        }
        return id
    }

    func task(_ id: String) throws -> [String: Any] {
        try client.get("/tasks/\(id)").json
    }
}

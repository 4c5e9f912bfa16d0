import ArgumentParser
import Foundation
import Logging
import TaskgateCore
import TaskgateGateway
import TaskgateHTTP

/// `taskgate serve`: the HTTP gateway.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP gateway that accepts tasks and reports their state.")

    @Option(
        help: ArgumentHelp(
            "Address to bind, an IPv4 or IPv6 literal.",
            discussion:
                "[TASKGATE_HOST, default 0.0.0.0 with API tokens, 127.0.0.1 without; without tokens a non-loopback address needs --allow-unauthenticated]"
        ))
    var host: String?
    @Flag(
        help:
            "Serve beyond loopback with no API token: anyone who reaches the gateway controls every queue. [TASKGATE_ALLOW_UNAUTHENTICATED=1]"
    )
    var allowUnauthenticated = false
    @Option(
        help: ArgumentHelp(
            "Without tokens, host names or addresses requests may name in Host besides the loopback ones (repeatable, or comma-separated); others get 421.",
            discussion: "[TASKGATE_ALLOWED_HOSTS]"))
    var allowedHosts: [String] = []
    @Option(help: "Port to listen on. [TASKGATE_PORT, default 8080]")
    var port: Int?
    @Option(help: "Largest request body in bytes; larger ones get 413. [TASKGATE_MAX_BODY_BYTES, default 1048576]")
    var maxBodyBytes: Int?
    @Option(help: "HTTP worker threads. [TASKGATE_THREADS, default 4]")
    var threads: Int?
    @Option(help: "Seconds an idle connection is kept. [TASKGATE_CONNECTION_TIMEOUT_SECONDS, default 30]")
    var connectionTimeoutSeconds: Int?
    @Option(
        help:
            "Most connections open at once, event streams included; the open-file limit is raised to fit, or the cap lowered. [TASKGATE_MAX_CONNECTIONS, default 4096]"
    )
    var maxConnections: Int?
    @Option(
        help: "Most connections from one IP address, 0 for no limit. [TASKGATE_MAX_CONNECTIONS_PER_IP, default 64]")
    var maxConnectionsPerIp: Int?
    @Option(
        help:
            "Seconds a request body may take to arrive; slower clients are disconnected. [TASKGATE_REQUEST_TIMEOUT_SECONDS, default 30]"
    )
    var requestTimeoutSeconds: Int?
    @Option(
        help:
            "Seconds an Idempotency-Key is remembered. [TASKGATE_IDEMPOTENCY_WINDOW_SECONDS, default 86400]")
    var idempotencyWindowSeconds: Int?
    @Option(
        help: ArgumentHelp(
            "File of API tokens, one per line (# comments); requests then need Authorization: Bearer <token>.",
            discussion:
                "TASKGATE_API_TOKEN_FILE, or TASKGATE_API_TOKENS as a comma-separated list; unset, the API is open."))
    var apiTokenFile: String?
    @Option(
        help:
            "Most pull claims waiting for work at once (each holds a thread and a Redis connection). [TASKGATE_MAX_WAITING_CLAIMS, default 64]"
    )
    var maxWaitingClaims: Int?
    @Option(
        help:
            "Seconds finished tasks reported through the pull API are kept. [TASKGATE_RETENTION_SECONDS, default 86400]"
    )
    var retentionSeconds: Double?
    @Option(
        help:
            "Seconds a waiting task waits for its parents and a batch lives; past it, the task is cancelled and the batch removed. [TASKGATE_WORKFLOW_RETENTION_SECONDS, default 604800 (7 days)]"
    )
    var workflowRetentionSeconds: Double?
    @Option(
        help: ArgumentHelp(
            "Most bytes held for clients at once: request bodies, event streams, long-polls; past it, 503.",
            discussion: "[TASKGATE_MAX_INFLIGHT_BODY_BYTES, default 67108864 (64 MiB)]"))
    var maxInflightBodyBytes: Int?
    @Option(
        help: ArgumentHelp(
            "Hosts a task's callback_url may name: host names, .suffixes, IP addresses, CIDR blocks (repeatable, or comma-separated).",
            discussion: "[TASKGATE_CALLBACK_ALLOW; unset, tasks with a callback_url are refused]"))
    var callbackAllow: [String] = []
    @Option(
        help:
            "Bytes buffered for one slow event-stream client before its stream is closed. [TASKGATE_STREAM_BUFFER_BYTES, default 65536]"
    )
    var streamBufferBytes: Int?
    @Option(
        help:
            "Most queues clients may make; a task to a new queue past it gets 409 too-many-queues (0: no bound). [TASKGATE_MAX_QUEUES, default 1000]"
    )
    var maxQueues: Int?
    @Option(
        help:
            "Most schedules there may be; a PUT of a new one past it gets 409 too-many-schedules (0: no bound). [TASKGATE_MAX_SCHEDULES, default 100000]"
    )
    var maxSchedules: Int?
    @Option(
        help: ArgumentHelp(
            "The only queues clients may use (repeatable, or comma-separated); others get 400 queue-not-allowed.",
            discussion: "[TASKGATE_QUEUES; unset, any]"))
    var queues: [String] = []
    @Option(
        help:
            "Queues /metrics labels by name; the others are summed under queue=\"_other\". [TASKGATE_METRICS_MAX_QUEUES, default 100]"
    )
    var metricsMaxQueues: Int?
    @OptionGroup var common: CommonOptions
    @OptionGroup var durability: DurabilityOptions

    func run() async throws {
        let logger = try common.bootstrap()
        let tokens = try Self.tokens(file: apiTokenFile ?? Settings.string("TASKGATE_API_TOKEN_FILE"))
        let address = Settings.string(host, "TASKGATE_HOST", default: tokens == nil ? "127.0.0.1" : "0.0.0.0")
        let openAccess = try self.openAccess(tokens: tokens, address: address)
        // Settings are checked before Redis is asked anything.
        let allowedQueues = try allowedQueueNames()
        var http = HTTPServerConfiguration(
            host: address,
            port: try Settings.int(port, "TASKGATE_PORT", default: 8080, range: 0...65535),
            threads: try Settings.int(threads, "TASKGATE_THREADS", default: 4, range: 1...256),
            maxBodyBytes: try Settings.int(
                maxBodyBytes, "TASKGATE_MAX_BODY_BYTES", default: 1 << 20, range: 1...(1 << 30)),
            connectionTimeoutSeconds: try Settings.int(
                connectionTimeoutSeconds, "TASKGATE_CONNECTION_TIMEOUT_SECONDS", default: 30, range: 1...3600),
            requestTimeoutSeconds: try Settings.int(
                requestTimeoutSeconds, "TASKGATE_REQUEST_TIMEOUT_SECONDS", default: 30, range: 1...3600),
            connectionLimit: try Settings.int(
                maxConnections, "TASKGATE_MAX_CONNECTIONS", default: 4096, range: 1...65536),
            connectionLimitPerIP: try Settings.int(
                maxConnectionsPerIp, "TASKGATE_MAX_CONNECTIONS_PER_IP", default: 64, range: 0...65536),
            maxInflightBodyBytes: try Settings.int(
                maxInflightBodyBytes, "TASKGATE_MAX_INFLIGHT_BODY_BYTES", default: 64 << 20,
                range: (1 << 20)...(1 << 40)))
        http.connectionLimit = DescriptorLimit.fit(connections: http.connectionLimit, logger: logger)
        let redis = try durability.redis(common)
        try durability.check(redis, logger: logger)
        var configuration = GatewayConfiguration(
            http: http, redis: redis, keys: try common.keys(),
            idempotencyWindowMilliseconds: try Settings.int(
                idempotencyWindowSeconds, "TASKGATE_IDEMPOTENCY_WINDOW_SECONDS", default: 86_400,
                range: 1...(365 * 86_400)) * 1000,
            tokens: tokens, openAccess: openAccess,
            pull: PullConfiguration(
                maxWaitingClaims: try Settings.int(
                    maxWaitingClaims, "TASKGATE_MAX_WAITING_CLAIMS", default: 64, range: 0...4096),
                retentionMilliseconds: Int(
                    try Settings.double(retentionSeconds, "TASKGATE_RETENTION_SECONDS", default: 86_400, minimum: 0.001)
                        * 1000)),
            callbackAllow: try Settings.callbackAllow(callbackAllow),
            streamBufferBytes: try Settings.int(
                streamBufferBytes, "TASKGATE_STREAM_BUFFER_BYTES", default: 64 * 1024, range: 1024...(64 << 20)))
        configuration.maxQueues = try Settings.int(
            maxQueues, "TASKGATE_MAX_QUEUES", default: 1000, range: 0...1_000_000)
        configuration.maxSchedules = try Settings.int(
            maxSchedules, "TASKGATE_MAX_SCHEDULES", default: ScheduleControl.defaultMaxSchedules, range: 0...10_000_000)
        configuration.metricsMaxQueues = try Settings.int(
            metricsMaxQueues, "TASKGATE_METRICS_MAX_QUEUES", default: 100, range: 0...100_000)
        configuration.allowedQueues = allowedQueues
        configuration.workflowRetentionMilliseconds = Int(
            try Settings.double(
                workflowRetentionSeconds, "TASKGATE_WORKFLOW_RETENTION_SECONDS", default: 604_800, minimum: 1) * 1000)
        logger.info(
            "starting gateway",
            metadata: [
                "redis": "\(redis.redactedDescription)",
                "auth": "\(tokens.map { "\($0.count) bearer token(s)" } ?? "open")",
            ])
        if let warning = openAccess.warning {
            logger.warning("\(warning)", metadata: ["host": "\(address)"])
        }
        let gateway = Gateway(configuration: configuration, logger: logger)
        try await common.run([gateway], logger: logger)
    }

    /// The `--queues` (or `TASKGATE_QUEUES`) allow-list; `nil` when none is given.
    private func allowedQueueNames() throws -> Set<QueueName>? {
        guard let entries = Settings.list(queues, "TASKGATE_QUEUES") else { return nil }
        var names: Set<QueueName> = []
        for entry in entries {
            guard let name = QueueName(entry) else {
                throw ValidationError("--queues / TASKGATE_QUEUES: '\(entry)' is not a queue name")
            }
            names.insert(name)
        }
        return names
    }

    /// Without tokens: refuses a non-loopback address unless `--allow-unauthenticated`, and builds the `Host`
    /// allow-list (``OpenAccess``).
    private func openAccess(tokens: BearerTokens?, address: String) throws -> OpenAccess {
        let hosts = Settings.list(allowedHosts, "TASKGATE_ALLOWED_HOSTS") ?? []
        if let bad = hosts.first(where: { OpenAccess.hostPart(of: $0, portAllowed: false) == nil }) {
            throw ValidationError("--allowed-hosts / TASKGATE_ALLOWED_HOSTS: '\(bad)' is not a host name or address")
        }
        guard tokens == nil else { return OpenAccess(allowedHosts: hosts) }
        // Not an address at all: the server's own start says so.
        guard let bound = IPAddress(address) else { return OpenAccess(allowedHosts: hosts) }
        let loopback = bound.isLoopback
        let allowed = allowUnauthenticated || Settings.string("TASKGATE_ALLOW_UNAUTHENTICATED") == "1"
        guard loopback || allowed else {
            throw ValidationError(
                "no API token is configured, so the gateway serves only loopback addresses; \(address) is not one. "
                    + "Give tokens (--api-token-file, TASKGATE_API_TOKEN_FILE or TASKGATE_API_TOKENS; "
                    + "`taskgate token` makes one), or say --allow-unauthenticated "
                    + "(TASKGATE_ALLOW_UNAUTHENTICATED=1) to serve everyone who reaches it")
        }
        return OpenAccess(allowedHosts: hosts, exposed: !loopback)
    }

    /// The API tokens from the token file, else from `TASKGATE_API_TOKENS`; `nil` when neither names any. An
    /// entry refused by ``BearerTokens`` stops the start, with its line (never its secret).
    private static func tokens(file: String?) throws -> BearerTokens? {
        guard let file else {
            guard let list = Settings.string("TASKGATE_API_TOKENS") else { return nil }
            do {
                return try BearerTokens(commaSeparated: list)
            } catch {
                var message = "TASKGATE_API_TOKENS, entry \(error.description.dropFirst("line ".count))"
                if error.reason == .scopeWithoutToken {
                    message += "; commas separate tokens there, so join scopes with + (submit+read:TOKEN)"
                }
                throw ValidationError(message)
            }
        }
        guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ValidationError("cannot read the API token file \(file)")
        }
        let parsed: BearerTokens?
        do {
            parsed = try BearerTokens(fileContents: contents)
        } catch {
            throw ValidationError("the API token file \(file), \(error)")
        }
        guard let parsed else { throw ValidationError("the API token file \(file) holds no token") }
        return parsed
    }
}

import ArgumentParser
import Foundation
import Logging
import TaskgateGateway
import TaskgateHTTP

/// `taskgate serve`: the HTTP gateway.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP gateway that accepts tasks and reports their state.")

    @Option(help: "Address to bind, an IPv4 or IPv6 literal. [TASKGATE_HOST, default 0.0.0.0]")
    var host: String?
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
    @Option(help: "Most connections from one IP address, 0 for no limit. [TASKGATE_MAX_CONNECTIONS_PER_IP, default 0]")
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
    @OptionGroup var common: CommonOptions
    @OptionGroup var durability: DurabilityOptions

    func run() async throws {
        let logger = try common.bootstrap()
        var http = HTTPServerConfiguration(
            host: Settings.string(host, "TASKGATE_HOST", default: "0.0.0.0"),
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
                maxConnectionsPerIp, "TASKGATE_MAX_CONNECTIONS_PER_IP", default: 0, range: 0...65536),
            maxInflightBodyBytes: try Settings.int(
                maxInflightBodyBytes, "TASKGATE_MAX_INFLIGHT_BODY_BYTES", default: 64 << 20,
                range: (1 << 20)...(1 << 40)))
        http.connectionLimit = DescriptorLimit.fit(connections: http.connectionLimit, logger: logger)
        let redis = try durability.redis(common)
        try durability.check(redis, logger: logger)
        let tokens = try Self.tokens(file: apiTokenFile ?? Settings.string("TASKGATE_API_TOKEN_FILE"))
        let configuration = GatewayConfiguration(
            http: http, redis: redis, keys: try common.keys(),
            idempotencyWindowMilliseconds: try Settings.int(
                idempotencyWindowSeconds, "TASKGATE_IDEMPOTENCY_WINDOW_SECONDS", default: 86_400,
                range: 1...(365 * 86_400)) * 1000,
            tokens: tokens,
            pull: PullConfiguration(
                maxWaitingClaims: try Settings.int(
                    maxWaitingClaims, "TASKGATE_MAX_WAITING_CLAIMS", default: 64, range: 0...4096),
                retentionMilliseconds: Int(
                    try Settings.double(retentionSeconds, "TASKGATE_RETENTION_SECONDS", default: 86_400, minimum: 0.001)
                        * 1000)),
            callbackAllow: try Settings.callbackAllow(callbackAllow),
            streamBufferBytes: try Settings.int(
                streamBufferBytes, "TASKGATE_STREAM_BUFFER_BYTES", default: 64 * 1024, range: 1024...(64 << 20)))
        logger.info(
            "starting gateway",
            metadata: [
                "redis": "\(redis.redactedDescription)",
                "auth": "\(tokens.map { "\($0.count) bearer token(s)" } ?? "open")",
            ])
        let gateway = Gateway(configuration: configuration, logger: logger)
        try await common.run([gateway], logger: logger)
    }

    /// The API tokens from the token file, else from `TASKGATE_API_TOKENS`; `nil` when neither names any.
    private static func tokens(file: String?) throws -> BearerTokens? {
        guard let file else {
            guard let list = Settings.string("TASKGATE_API_TOKENS") else { return nil }
            let entries = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let cut = entries.first(where: AccessScopes.isScopeName) {
                throw ValidationError(
                    "TASKGATE_API_TOKENS: '\(cut)' is a scope name, not a token; commas separate tokens there, so "
                        + "join scopes with + (submit+read:TOKEN)")
            }
            return BearerTokens(entries)
        }
        guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ValidationError("cannot read the API token file \(file)")
        }
        let lines = contents.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        if let bare = lines.first(where: AccessScopes.isScopeName) {
            throw ValidationError("the API token file \(file) has a line '\(bare)': a scope name, not a token")
        }
        guard let tokens = BearerTokens(fileContents: contents) else {
            throw ValidationError("the API token file \(file) holds no token")
        }
        return tokens
    }
}

import TaskgateCore
import TaskgateHTTP
import TaskgateRedis

/// Everything the gateway needs to run.
public struct GatewayConfiguration: Sendable {
    /// How the HTTP server listens.
    public var http: HTTPServerConfiguration
    /// Where Redis is.
    public var redis: RedisConfiguration
    /// How keys are named.
    public var keys: KeySpace

    /// Creates a configuration.
    public init(http: HTTPServerConfiguration, redis: RedisConfiguration, keys: KeySpace = .standard) {
        self.http = http
        self.redis = redis
        self.keys = keys
    }
}

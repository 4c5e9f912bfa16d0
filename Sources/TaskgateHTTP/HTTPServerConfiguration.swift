/// How the HTTP server listens and what it allows each client.
public struct HTTPServerConfiguration: Sendable {
    /// The address to bind: an IPv4 or IPv6 literal (`0.0.0.0`, `127.0.0.1`, `::`).
    public var host: String
    /// The port to bind; 0 picks a free one (see ``HTTPServer/port``).
    public var port: Int
    /// Threads in libmicrohttpd's pool.
    public var threads: Int
    /// The largest request body accepted; larger ones get ``HTTPResponder/payloadTooLarge(_:limit:)``.
    public var maxBodyBytes: Int
    /// Seconds of inactivity after which a connection is closed.
    public var connectionTimeoutSeconds: Int
    /// The most connections open at once; more are refused at accept.
    public var connectionLimit: Int
    /// How long ``HTTPServer/stop()`` waits for requests in flight to be answered, in seconds.
    public var drainTimeoutSeconds: Double

    /// Creates a configuration.
    public init(
        host: String = "0.0.0.0", port: Int = 8080, threads: Int = 2, maxBodyBytes: Int = 1 << 20,
        connectionTimeoutSeconds: Int = 30, connectionLimit: Int = 1024, drainTimeoutSeconds: Double = 10
    ) {
        self.host = host
        self.port = port
        self.threads = threads
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionLimit = connectionLimit
        self.drainTimeoutSeconds = drainTimeoutSeconds
    }
}

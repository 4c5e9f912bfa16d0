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
    /// Seconds of inactivity after which a connection is closed (a client that stops sending mid-request).
    public var connectionTimeoutSeconds: Int
    /// Seconds a request's body may take to arrive after its head; a slower client is disconnected, so
    /// dribbling a byte now and then cannot hold a connection for ever.
    public var requestTimeoutSeconds: Int
    /// The most connections open at once; more are refused at accept.
    public var connectionLimit: Int
    /// The most connections open at once from one IP address; 0 for no per-address limit.
    public var connectionLimitPerIP: Int
    /// Bytes libmicrohttpd may use per connection for the request line and headers (a longer head is refused);
    /// the body is bounded separately by ``maxBodyBytes``.
    public var connectionMemoryLimitBytes: Int
    /// How long ``HTTPServer/stop()`` waits for requests in flight to be answered, in seconds.
    public var drainTimeoutSeconds: Double
    /// The most bytes held for clients at once: request bodies in memory, open streams, waiting requests
    /// (see ``MemoryBudget``).
    public var maxInflightBodyBytes: Int

    /// Creates a configuration.
    public init(
        host: String = "0.0.0.0", port: Int = 8080, threads: Int = 2, maxBodyBytes: Int = 1 << 20,
        connectionTimeoutSeconds: Int = 30, requestTimeoutSeconds: Int = 30, connectionLimit: Int = 4096,
        connectionLimitPerIP: Int = 0, connectionMemoryLimitBytes: Int = 16 * 1024, drainTimeoutSeconds: Double = 10,
        maxInflightBodyBytes: Int = 64 << 20
    ) {
        self.host = host
        self.port = port
        self.threads = threads
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.requestTimeoutSeconds = max(1, requestTimeoutSeconds)
        self.connectionLimit = connectionLimit
        self.connectionLimitPerIP = max(0, connectionLimitPerIP)
        self.connectionMemoryLimitBytes = max(8 * 1024, connectionMemoryLimitBytes)
        self.drainTimeoutSeconds = drainTimeoutSeconds
        self.maxInflightBodyBytes = maxInflightBodyBytes
    }
}

/// Where and how to connect to Redis, usually parsed from a `redis://` URL.
public struct RedisConfiguration: Sendable, Equatable {
    /// Host name or IP address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// Password for `AUTH`, if any.
    public var password: String?
    /// User name for `AUTH user password` (Redis 6 ACL), if any.
    public var username: String?
    /// Database number for `SELECT`.
    public var database: Int
    /// How long to wait for a TCP connection, in milliseconds.
    public var connectTimeoutMilliseconds: Int
    /// How long one command may wait for its reply, in milliseconds (blocking commands add their own wait).
    public var commandTimeoutMilliseconds: Int
    /// Replicas that must confirm a task's writes before they are acknowledged (`--min-replicas`), if any.
    public var acknowledgement: RedisReplicaAcknowledgement?
    /// The sentinels to ask for the master (a `redis+sentinel://` URL); ``host`` and ``port`` are then unused.
    public var sentinel: RedisSentinelSettings?
    /// The cluster's seed nodes (a `redis+cluster://` URL); ``host`` and ``port`` are then unused.
    public var cluster: RedisClusterSettings?

    /// Creates a configuration from parts.
    public init(
        host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, username: String? = nil,
        database: Int = 0, connectTimeoutMilliseconds: Int = 1000, commandTimeoutMilliseconds: Int = 2000
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.commandTimeoutMilliseconds = commandTimeoutMilliseconds
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`,
    /// `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[/db][?sentinel_password=...]`
    /// or `redis+cluster://[[user]:password@]host[:port][,host[:port]...]`.
    ///
    /// In the Sentinel form the hosts are sentinels (port 26379 unless given), the credentials and database are
    /// the master's, and `sentinel_password` (with `sentinel_username`) is for sentinels that require `AUTH`.
    /// In the Cluster form the hosts are seed nodes (port 6379 unless given); a cluster has database 0 only.
    public init(url: String) throws(RedisError) {
        self.init()
        let plain = "redis://"
        let sentinelScheme = "redis+sentinel://"
        let clusterScheme = "redis+cluster://"
        let isSentinel = url.hasPrefix(sentinelScheme)
        let isCluster = url.hasPrefix(clusterScheme)
        guard isSentinel || isCluster || url.hasPrefix(plain) else {
            throw RedisError(
                .invalidURL,
                "expected redis://[:password@]host:port[/db], redis+sentinel://host:port,.../master-name[/db] or "
                    + "redis+cluster://host:port,..., got \(url)")
        }
        let scheme = isSentinel ? sentinelScheme : isCluster ? clusterScheme : plain
        var rest = Substring(url.dropFirst(scheme.count))
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            query = try Self.queryItems(rest[rest.index(after: mark)...], url: url)
            rest = rest[..<mark]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = String(credentials[..<colon])
                username = user.isEmpty ? nil : Self.percentDecoded(user)
                password = Self.percentDecoded(String(credentials[credentials.index(after: colon)...]))
            } else if !credentials.isEmpty {
                password = Self.percentDecoded(String(credentials))
            }
        }
        var hosts = rest
        var path: [Substring] = []
        if let slash = rest.firstIndex(of: "/") {
            hosts = rest[..<slash]
            path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        }
        if isSentinel {
            try parseSentinel(hosts: hosts, path: path, query: query, url: url)
            return
        }
        if isCluster {
            guard query.isEmpty else { throw RedisError(.invalidURL, "redis+cluster:// takes no parameters: \(url)") }
            guard path.allSatisfy({ $0.isEmpty || $0 == "0" }), path.count <= 1 else {
                throw RedisError(.invalidURL, "a Redis Cluster has database 0 only: \(url)")
            }
            var seeds: [RedisEndpoint] = []
            for part in hosts.split(separator: ",", omittingEmptySubsequences: false) {
                seeds.append(try RedisEndpoint(parsing: part, defaultPort: 6379, in: url))
            }
            cluster = RedisClusterSettings(seeds: seeds)
            host = seeds[0].host
            port = seeds[0].port
            return
        }
        guard query.isEmpty else { throw RedisError(.invalidURL, "redis:// takes no query parameters: \(url)") }
        guard path.count <= 1 else { throw RedisError(.invalidURL, "expected at most /db after the host in \(url)") }
        if let db = path.first { try setDatabase(db, url: url) }
        let endpoint = try RedisEndpoint(parsing: hosts, defaultPort: 6379, in: url)
        host = endpoint.host
        port = endpoint.port
    }

    private mutating func parseSentinel(
        hosts: Substring, path: [Substring], query: [String: String], url: String
    ) throws(RedisError) {
        var sentinels: [RedisEndpoint] = []
        for part in hosts.split(separator: ",", omittingEmptySubsequences: false) {
            sentinels.append(try RedisEndpoint(parsing: part, defaultPort: 26379, in: url))
        }
        guard let name = path.first.map({ Self.percentDecoded(String($0)) }), !name.isEmpty else {
            throw RedisError(.invalidURL, "the master's name must follow the sentinels: \(url)")
        }
        guard path.count <= 2 else {
            throw RedisError(.invalidURL, "expected /master-name[/db] after the sentinels in \(url)")
        }
        if path.count == 2 { try setDatabase(path[1], url: url) }
        for key in query.keys where key != "sentinel_password" && key != "sentinel_username" {
            throw RedisError(.invalidURL, "unknown parameter \(key) in \(url)")
        }
        sentinel = RedisSentinelSettings(
            sentinels: sentinels, masterName: name, sentinelUsername: query["sentinel_username"],
            sentinelPassword: query["sentinel_password"])
        host = sentinels[0].host
        port = sentinels[0].port
    }

    private mutating func setDatabase(_ text: Substring, url: String) throws(RedisError) {
        guard text.isEmpty || Int(text).map({ $0 >= 0 }) == true else {
            throw RedisError(.invalidURL, "database must be a number >= 0 in \(url)")
        }
        database = Int(text) ?? 0
    }

    private static func queryItems(_ text: Substring, url: String) throws(RedisError) -> [String: String] {
        var items: [String: String] = [:]
        for pair in text.split(separator: "&") {
            guard let equals = pair.firstIndex(of: "=") else {
                throw RedisError(.invalidURL, "expected name=value, got \(pair) in \(url)")
            }
            items[String(pair[..<equals])] = percentDecoded(String(pair[pair.index(after: equals)...]))
        }
        return items
    }

    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// This configuration for one server at `endpoint`: same credentials and timeouts, no Sentinel or Cluster.
    func node(_ endpoint: RedisEndpoint) -> RedisConfiguration {
        var node = self
        node.host = endpoint.host
        node.port = endpoint.port
        node.sentinel = nil
        node.cluster = nil
        return node
    }

    /// `true` when the configuration holds a password (Redis' or the sentinels').
    public var hasSecrets: Bool {
        password != nil || sentinel?.sentinelPassword != nil
    }

    /// The URL with any password hidden, for logs.
    public var redactedDescription: String {
        if let cluster {
            let hosts = cluster.seeds.map(\.description).joined(separator: ",")
            return "redis+cluster://\(password == nil ? "" : "***@")\(hosts)"
        }
        if let sentinel {
            let hosts = sentinel.sentinels.map(\.description).joined(separator: ",")
            return "redis+sentinel://\(password == nil ? "" : "***@")\(hosts)/\(sentinel.masterName)/\(database)"
        }
        return "redis://\(password == nil ? "" : "***@")\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }
}

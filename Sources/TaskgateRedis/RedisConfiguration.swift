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

    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    public init(url: String) throws(RedisError) {
        self.init()
        let scheme = "redis://"
        guard url.hasPrefix(scheme) else {
            throw RedisError(.invalidURL, "expected redis://[:password@]host:port[/db], got \(url)")
        }
        var rest = Substring(url.dropFirst(scheme.count))
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
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let number = Int(db), number >= 0 else {
                    throw RedisError(.invalidURL, "database must be a number >= 0 in \(url)")
                }
                database = number
            }
        }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw RedisError(.invalidURL, "unclosed IPv6 address in \(url)")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if hostPort.hasPrefix(":") { try setPort(hostPort.dropFirst(), url: url) }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            try setPort(hostPort[hostPort.index(after: colon)...], url: url)
        } else {
            host = String(hostPort)
        }
        if host.isEmpty { host = "127.0.0.1" }
    }

    private mutating func setPort(_ text: Substring, url: String) throws(RedisError) {
        guard let number = Int(text), (1...65535).contains(number) else {
            throw RedisError(.invalidURL, "port must be 1-65535 in \(url)")
        }
        port = number
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

    /// The URL with any password hidden, for logs.
    public var redactedDescription: String {
        "redis://\(password == nil ? "" : "***@")\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }
}

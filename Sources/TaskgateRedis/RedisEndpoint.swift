/// One Redis server's address: a host name or IP address and a TCP port.
public struct RedisEndpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Host name or IP address (an IPv6 address without brackets).
    public var host: String
    /// TCP port.
    public var port: Int

    /// Creates an endpoint from parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; an empty host is `127.0.0.1`.
    init(parsing text: Substring, defaultPort: Int, in url: String) throws(RedisError) {
        var host = ""
        var port = defaultPort
        var rest = text
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw RedisError(.invalidURL, "unclosed IPv6 address in \(url)")
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if rest.hasPrefix(":") {
                port = try Self.port(rest.dropFirst(), in: url)
            } else if !rest.isEmpty {
                throw RedisError(.invalidURL, "unexpected \(rest) after an IPv6 address in \(url)")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = try Self.port(rest[rest.index(after: colon)...], in: url)
        } else {
            host = String(rest)
        }
        self.host = host.isEmpty ? "127.0.0.1" : host
        self.port = port
    }

    private static func port(_ text: Substring, in url: String) throws(RedisError) -> Int {
        guard let number = Int(text), (1...65535).contains(number) else {
            throw RedisError(.invalidURL, "port must be 1-65535 in \(url)")
        }
        return number
    }

    public static func < (left: Self, right: Self) -> Bool {
        (left.host, left.port) < (right.host, right.port)
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

import Synchronization

/// A Lua script run by SHA1 (`EVALSHA`), loaded on first use and reloaded when Redis answers `NOSCRIPT`.
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    private let sha = Mutex<String?>(nil)

    /// Creates a script from its Lua source.
    public init(_ source: String) {
        self.source = source
    }

    /// Runs the script with `keys` as KEYS[] and `arguments` as ARGV[].
    public func run(
        on connection: RedisConnection, keys: [String], arguments: [any RedisArgument]
    ) throws(RedisError) -> RedisValue {
        let digest = try loadedSHA(on: connection)
        do {
            return try connection.send(command(sha: digest, keys: keys, arguments: arguments))
        } catch  where error.isNoScript {
            // Redis restarted or SCRIPT FLUSH ran: load it again and retry once.
            let reloaded = try load(on: connection)
            return try connection.send(command(sha: reloaded, keys: keys, arguments: arguments))
        }
    }

    /// The `EVALSHA` command for these keys and arguments, for callers that pipeline; call ``loadedSHA(on:)`` first.
    public func command(sha: String, keys: [String], arguments: [any RedisArgument]) -> RedisCommand {
        var command = RedisCommand("EVALSHA", sha, keys.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        return command
    }

    /// The script's SHA1, loading the script into Redis if this process has not done so yet.
    public func loadedSHA(on connection: RedisConnection) throws(RedisError) -> String {
        if let known = sha.withLock({ $0 }) { return known }
        return try load(on: connection)
    }

    private func load(on connection: RedisConnection) throws(RedisError) -> String {
        guard let digest = try connection.send(RedisCommand("SCRIPT", "LOAD", source)).string else {
            throw RedisError(.protocolViolation, "SCRIPT LOAD returned no digest")
        }
        sha.withLock { $0 = digest }
        return digest
    }
}

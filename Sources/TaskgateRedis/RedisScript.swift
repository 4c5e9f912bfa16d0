import TaskgateCrypto

/// A Lua script run by SHA1 (`EVALSHA`); where Redis does not know it yet (`NOSCRIPT`: a first use, a restart,
/// another node of a cluster) it is sent once with `EVAL`, which also makes that server keep it.
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    /// The SHA1 of the source, as Redis names the script.
    public let sha: String
    /// Whether the script builds key names from its arguments or from values it reads (a task key from an id)
    /// instead of taking every key in `KEYS[]`. All such keys share the hash tag of the keys it is given, so it
    /// touches one slot; but while that slot moves between cluster nodes a derived key may already be on the
    /// other node. On the old node Redis then fails the command that touches it ("non local key"), which the
    /// script must survive; on the new node, reached through `ASK`, a key not moved yet would read as missing,
    /// so a cluster client waits for the move to end instead of following `ASK` (``RedisCommand/followsAsk``).
    public let derivesKeys: Bool

    /// Creates a script from its Lua source.
    public init(_ source: String, derivesKeys: Bool = false) {
        self.source = source
        self.derivesKeys = derivesKeys
        self.sha = Digest.hex(Digest.sha1(Array(source.utf8)))
    }

    /// Runs the script with `keys` as KEYS[] and `arguments` as ARGV[].
    public func run(
        on connection: RedisConnection, keys: [String], arguments: [any RedisArgument]
    ) throws(RedisError) -> RedisValue {
        do {
            return try connection.send(command(sha: sha, keys: keys, arguments: arguments))
        } catch  where error.isNoScript {
            return try runSource(on: connection, keys: keys, arguments: arguments)
        }
    }

    /// Runs the script, then `next` in the same pipeline, and answers both replies: on a Cluster a command with no
    /// key (`WAIT`) goes to the node that ran the script, which a second call would not know. An error reply of
    /// the script is thrown as ``run(on:keys:arguments:)`` throws it; `next`'s is returned.
    public func run(
        on connection: RedisConnection, keys: [String], arguments: [any RedisArgument], then next: RedisCommand
    ) throws(RedisError) -> (script: RedisValue, next: RedisValue) {
        var replies = try connection.pipeline([command(sha: sha, keys: keys, arguments: arguments), next])
        if case .error(let message) = replies[0], RedisError(.server, message).isNoScript {
            var command = RedisCommand("EVAL", source, keys.count)
            command.append(contentsOf: keys)
            command.append(contentsOf: arguments)
            command.followsAsk = !derivesKeys
            replies = try connection.pipeline([command, next])
        }
        if case .error(let message) = replies[0] { throw RedisError(.server, message) }
        return (replies[0], replies[1])
    }

    /// Runs the script by its source (`EVAL`), which also loads it on the server that runs it.
    func runSource(
        on connection: RedisConnection, keys: [String], arguments: [any RedisArgument]
    ) throws(RedisError) -> RedisValue {
        var command = RedisCommand("EVAL", source, keys.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        command.followsAsk = !derivesKeys
        return try connection.send(command)
    }

    /// The `EVALSHA` command for these keys and arguments, for callers that pipeline.
    public func command(sha: String, keys: [String], arguments: [any RedisArgument]) -> RedisCommand {
        var command = RedisCommand("EVALSHA", sha, keys.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        command.followsAsk = !derivesKeys
        return command
    }
}

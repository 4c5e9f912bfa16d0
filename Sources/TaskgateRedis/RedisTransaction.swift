/// One script call, ready to send: the script and its `EVALSHA` command with `KEYS[]` and `ARGV[]`.
public struct RedisScriptCall: Sendable {
    /// The script.
    public let script: RedisScript
    /// `EVALSHA sha numkeys keys... arguments...`.
    let command: RedisCommand

    /// Creates a call with `keys` as `KEYS[]` and `arguments` as `ARGV[]`.
    public init(_ script: RedisScript, keys: [String], arguments: [any RedisArgument]) {
        self.script = script
        self.command = script.command(sha: script.sha, keys: keys, arguments: arguments)
    }

    /// Creates a call from its `EVALSHA` command, built by the caller (`EVALSHA`, the script's SHA, the key
    /// count, the keys, the arguments), which saves an array of arguments per call on a hot path.
    public init(_ script: RedisScript, command: RedisCommand) {
        self.script = script
        self.command = command
    }

    /// Runs the call by the script's source (`EVAL`), which also loads it on the server.
    func runSource(on connection: RedisConnection) throws(RedisError) -> RedisValue {
        var eval = RedisCommand("EVAL", script.source)
        for argument in command.arguments.dropFirst(2) { eval.append(argument) }
        eval.followsAsk = command.followsAsk
        return try connection.send(eval)
    }
}

/// Commands run as one `MULTI`/`EXEC` transaction on a single Redis, for ``RedisPipeline/run(_:replicated:completion:)``.
///
/// Native commands cost Redis less than the same commands called from Lua (no conversion of every argument
/// into a Lua string and back). A transaction is atomic as a script is, but it cannot read before it writes, so
/// it is not idempotent: a round cut by a broken connection may or may not have landed, and sending it again
/// could apply it twice. That round therefore runs ``resend`` in its place, a script that checks what is there.
public struct RedisTransaction: Sendable {
    /// The commands, in order.
    public let commands: [RedisCommand]
    /// A script call that ends the transaction (publishing what it did, say). Where Redis did not know the
    /// script (`NOSCRIPT` inside `EXEC`, after a restart or `SCRIPT FLUSH`: the commands before it are done), it
    /// is run by its source right after the transaction, on the same connection, before anyone hears the reply.
    public let closing: RedisScriptCall?
    /// What a round sent again runs instead of the transaction; built only then.
    public let resend: @Sendable () -> RedisScriptCall

    /// Creates a transaction.
    public init(
        _ commands: [RedisCommand], closing: RedisScriptCall? = nil, resend: @escaping @Sendable () -> RedisScriptCall
    ) {
        self.commands = commands
        self.closing = closing
        self.resend = resend
    }
}

/// How a ``RedisTransaction`` ran.
public enum RedisTransactionReply: Sendable, Equatable {
    /// `EXEC`'s replies: one per command, then the closing script's.
    case committed([RedisValue])
    /// The round was sent again, and ``RedisTransaction/resend`` ran instead; its reply.
    case resent(RedisValue)
}

import CHiredis

extension RedisNodeConnection {
    /// The socket, for a caller that waits on it with `poll(2)` (a pub/sub subscriber).
    public var fileDescriptor: Int32 { context.pointee.fd }

    /// Sends commands without reading replies (subscriptions, whose confirmations arrive as pushes).
    public func write(_ commands: [RedisCommand]) throws(RedisError) {
        guard !isBroken else { throw RedisError(.io, "connection is broken") }
        for command in commands {
            let status = command.withArgv { count, argv, argvlen in
                redisAppendCommandArgv(context, count, argv, argvlen)
            }
            if status != REDIS_OK { throw ioFailure("queueing \(command.name)") }
        }
        var done: Int32 = 0
        while done == 0 {
            if redisBufferWrite(context, &done) != REDIS_OK { throw ioFailure("writing") }
        }
    }

    /// Reads what the socket has (call when `poll` says it is readable) and returns every complete reply or
    /// push in it; throws when the connection closed or failed.
    public func readAvailable() throws(RedisError) -> [RedisValue] {
        guard !isBroken else { throw RedisError(.io, "connection is broken") }
        if redisBufferRead(context) != REDIS_OK { throw ioFailure("reading") }
        var values: [RedisValue] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            if redisGetReplyFromReader(context, &raw) != REDIS_OK { throw ioFailure("parsing a reply") }
            guard let raw else { break }
            values.append(Self.decode(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return values
    }
}

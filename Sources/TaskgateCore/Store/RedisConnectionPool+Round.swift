import TaskgateRedis

extension RedisConnectionPool {
    /// Sends `commands` in one pipelined round on a pooled connection (once more on a fresh one when that
    /// broke: for reads, and writes safe to repeat), as a ``TaskStoreError`` when Redis cannot be reached.
    /// Error replies are returned in place, for the caller to read.
    func round(_ commands: [RedisCommand]) throws(TaskStoreError) -> [RedisValue] {
        do {
            return try withConnectionRetryingOnce { connection throws(RedisError) in try connection.pipeline(commands) }
        } catch {
            throw TaskStoreError(error)
        }
    }

    /// Runs `script` on a pooled connection, once more on a fresh one when that broke: for scripts safe to
    /// repeat.
    func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument]) throws(TaskStoreError) -> RedisValue
    {
        do {
            return try withConnectionRetryingOnce { connection throws(RedisError) in
                try script.run(on: connection, keys: keys, arguments: arguments)
            }
        } catch {
            throw TaskStoreError(error)
        }
    }

    /// Redis' clock (ms), one `TIME`: the clock every host agrees on.
    func redisTime() throws(TaskStoreError) -> Int {
        let parts = try round([RedisCommand("TIME")])[0].array ?? []
        guard parts.count == 2, let seconds = parts[0].int, let micros = parts[1].int else {
            throw TaskStoreError(.corrupt, "unexpected TIME reply")
        }
        return seconds * 1000 + micros / 1000
    }
}

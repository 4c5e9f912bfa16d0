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
}

import TaskgateRedis

extension TaskScripts {
    /// KEYS: registry (``KeySpace/queues``). ARGV: queue, max (0: none). Adds the queue unless the registry holds max others; 1 when
    /// it is registered after, 0 when refused. One key: atomic where the registry is.
    static let admitQueue = RedisScript(
        """
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
        local max = tonumber(ARGV[2])
        if max > 0 and redis.call('ZCARD', KEYS[1]) >= max then return 0 end
        redis.call('ZADD', KEYS[1], 0, ARGV[1])
        return 1
        """)
}

import TaskgateRedis

extension TaskScripts {
    /// KEYS: task, active, pending, leases. ARGV: id, token, event channel. Puts a held task back where the
    /// next claim takes it, retries unchanged (used when a worker stops), and publishes `requeued`. Returns 1,
    /// or 0 when the caller does not hold the task.
    static let requeue = RedisScript(
        now + events(channel: "ARGV[3]") + holdsLease + """

            if not holds_lease() then return 0 end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            redis.call('ZREM', KEYS[4], ARGV[1])
            redis.call('HDEL', KEYS[1], 'token')
            redis.call('RPUSH', KEYS[3], ARGV[1])
            local record = redis.call('HMGET', KEYS[1], 'type', 'attempts', 'retries', 'seq')
            local seq = tonumber(record[4] or '0') + 1
            redis.call('HSET', KEYS[1], 'state', 'pending', 'updated_at', now, 'seq', seq)
            event(ARGV[1], 'requeued', 'pending', record[1], record[2], record[3], seq)
            publish()
            return 1
            """)
}

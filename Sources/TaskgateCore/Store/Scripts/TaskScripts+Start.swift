import TaskgateRedis

extension TaskScripts {
    /// KEYS: task, active, leases, unleased, pending, control. ARGV: id, token, lease_ms, event channel.
    ///
    /// Marks a task that `BLMOVE` just moved to the active list active under a fresh token and lease, and takes
    /// it off the active list: from here on its lease says who holds it. The active list thus only ever holds
    /// ids between those two steps, where a crash would leave them unleased (recovery's second case). An id
    /// whose record is gone (expired) or not pending (a stray duplicate of a task that already ran) is only
    /// dropped from the active list. The queue's control hash is checked as the claim script does (see
    /// ``admission``): when it holds the task back, the id goes back to the end of `pending` that claims take
    /// from and the reply is `{'held', why, retry_ms or -1}`. Publishes `active`.
    static let start = RedisScript(
        now + events(channel: "ARGV[4]") + admission + """

            redis.call('HDEL', KEYS[4], ARGV[1])
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            local held = redis.call('HMGET', KEYS[1], 'state', 'type', 'attempts', 'retries', 'seq')
            if held[1] ~= 'pending' then return false end
            local allowed, why, retry_ms = admit(KEYS[6], KEYS[3], KEYS[2], 1)
            if allowed == 0 then
                redis.call('RPUSH', KEYS[5], ARGV[1])
                return {'held', why, retry_ms or -1}
            end
            local attempts, seq = tonumber(held[3] or '0') + 1, tonumber(held[5] or '0') + 1
            redis.call('HSET', KEYS[1], 'state', 'active', 'token', ARGV[2], 'started_at', now_text, 'updated_at', now_text,
                'attempts', attempts, 'seq', seq)
            redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
            spend(KEYS[6], 1)
            event(ARGV[1], 'active', 'active', held[2], attempts, held[4], seq)
            publish()
            return redis.call('HGETALL', KEYS[1])
            """)
}

import TaskgateRedis

/// The Lua scripts behind every multi-key state change. Each names all its keys in KEYS[] and takes its
/// clock from Redis `TIME`, so every host agrees on time and a Redis Cluster can run it on one slot.
enum TaskScripts {
    static let now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        """

    /// KEYS: task, pending, scheduled. ARGV: id, type, payload, max_retries, timeout_ms, delay_ms.
    /// Returns the stored record (HGETALL). When the id exists already (a call repeated after a broken
    /// connection) nothing is written and the existing record is returned.
    static let enqueue = RedisScript(
        now + """

            if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGETALL', KEYS[1]) end
            local delay = tonumber(ARGV[6])
            local state, run_at = 'pending', now
            if delay > 0 then state, run_at = 'scheduled', now + delay end
            redis.call('HSET', KEYS[1], 'id', ARGV[1], 'type', ARGV[2], 'payload', ARGV[3], 'state', state,
                'retries', 0, 'max_retries', ARGV[4], 'attempts', 0, 'timeout', ARGV[5],
                'created_at', now, 'updated_at', now, 'run_at', run_at)
            if state == 'scheduled' then
                redis.call('ZADD', KEYS[3], run_at, ARGV[1])
            else
                redis.call('LPUSH', KEYS[2], ARGV[1])
            end
            return redis.call('HGETALL', KEYS[1])
            """)

    /// KEYS: task, active. ARGV: id. Marks a just-moved task active. An id whose record is gone (expired)
    /// or not pending (a stray duplicate of a task that already ran) is dropped from the active list instead.
    static let start = RedisScript(
        now + """

            if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then
                redis.call('LREM', KEYS[2], 1, ARGV[1])
                return false
            end
            redis.call('HSET', KEYS[1], 'state', 'active', 'started_at', now, 'updated_at', now)
            redis.call('HINCRBY', KEYS[1], 'attempts', 1)
            return redis.call('HGETALL', KEYS[1])
            """)

    /// KEYS: task, active. ARGV: id, result, retention_ms. Returns 1, or 0 when the task is not active.
    static let complete = RedisScript(
        now + """

            if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            redis.call('HSET', KEYS[1], 'state', 'succeeded', 'result', ARGV[2], 'finished_at', now, 'updated_at', now)
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return 1
            """)

    /// KEYS: task, active, scheduled, dead. ARGV: id, error, backoff_ms, retention_ms.
    /// Returns {1, retries, run_at} when scheduled again, {2, retries} when dead, {0} when not active.
    static let fail = RedisScript(
        now + """

            local record = redis.call('HMGET', KEYS[1], 'state', 'retries', 'max_retries')
            if record[1] ~= 'active' then return {0} end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            local retries, max_retries = tonumber(record[2]), tonumber(record[3])
            if retries < max_retries then
                retries = retries + 1
                local run_at = now + tonumber(ARGV[3])
                redis.call('HSET', KEYS[1], 'state', 'retrying', 'retries', retries, 'last_error', ARGV[2],
                    'run_at', run_at, 'updated_at', now)
                redis.call('ZADD', KEYS[3], run_at, ARGV[1])
                return {1, retries, run_at}
            end
            redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', ARGV[2], 'finished_at', now, 'updated_at', now)
            redis.call('PEXPIRE', KEYS[1], ARGV[4])
            redis.call('ZADD', KEYS[4], now, ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[4]))
            return {2, retries}
            """)

    /// KEYS: task, active, pending. ARGV: id. Puts an active task back where the next claim takes it.
    static let requeue = RedisScript(
        now + """

            if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            redis.call('RPUSH', KEYS[3], ARGV[1])
            redis.call('HSET', KEYS[1], 'state', 'pending', 'updated_at', now)
            return 1
            """)

    /// KEYS: scheduled, pending, task(1), ..., task(n). ARGV: id(1), ..., id(n).
    /// Moves each id that is still scheduled and due; returns how many moved.
    static let promote = RedisScript(
        now + """

            local moved = 0
            for i, id in ipairs(ARGV) do
                local score = redis.call('ZSCORE', KEYS[1], id)
                if score and tonumber(score) <= now then
                    redis.call('ZREM', KEYS[1], id)
                    if redis.call('EXISTS', KEYS[i + 2]) == 1 then
                        redis.call('HSET', KEYS[i + 2], 'state', 'pending', 'updated_at', now)
                        redis.call('LPUSH', KEYS[2], id)
                        moved = moved + 1
                    end
                end
            end
            return moved
            """)
}

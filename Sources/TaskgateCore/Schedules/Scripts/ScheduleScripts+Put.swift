import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: names, due, firing, the schedule's hash. ARGV: name, spec, timing, next (ms, `''` when it never
    /// ticks), the most schedules there may be (`0`: no bound).
    ///
    /// Creates or replaces a schedule's definition. Its next tick moves only when its timing (cron and time
    /// zone) changed, so putting the same definition again (a deploy that applies its configuration) neither
    /// skips nor repeats a tick; a pause stays. Returns `{'created' | 'updated' | 'full', now}`.
    static let put = RedisScript(
        now + """

            local exists = redis.call('EXISTS', KEYS[4]) == 1
            local limit = tonumber(ARGV[5])
            if not exists and limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then return {'full', now} end
            local fields = {'spec', ARGV[2], 'timing', ARGV[3], 'updated_at', now_text}
            if not exists then
                fields[#fields + 1] = 'created_at'
                fields[#fields + 1] = now_text
            end
            if redis.call('HGET', KEYS[4], 'timing') ~= ARGV[3] then
                redis.call('HDEL', KEYS[4], 'next', 'buffered', 'paused_from', 'paused_to')
                if ARGV[4] ~= '' then
                    fields[#fields + 1] = 'next'
                    fields[#fields + 1] = ARGV[4]
                end
            end
            redis.call('HSET', KEYS[4], unpack(fields))
            redis.call('ZADD', KEYS[1], 0, ARGV[1])
            -- A schedule being fired goes back to due when its commit lands, not before.
            if redis.call('HEXISTS', KEYS[4], 'paused') == 0 and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
                local next = redis.call('HGET', KEYS[4], 'next')
                if next then redis.call('ZADD', KEYS[2], next, ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
            end
            return {exists and 'updated' or 'created', now}
            """)
}

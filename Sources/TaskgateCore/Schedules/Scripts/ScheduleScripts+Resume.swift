import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: due, firing, the schedule's hash. ARGV: name.
    ///
    /// Resumes a paused schedule: it records the pause as `paused_from`..`paused_to` (joined to an earlier pause
    /// whose ticks no worker has handled yet), so the next worker counts the ticks inside it as missed
    /// (`paused`) and, under `misfire: skip`, fires the latest once; then the schedule is due again at its next
    /// tick. Resuming one that is not paused changes nothing. Returns 1, or 0 when there is no such schedule.
    static let resume = RedisScript(
        now + """

            if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
            local held = redis.call('HMGET', KEYS[3], 'paused', 'paused_from', 'next')
            if not held[1] then return 1 end
            redis.call('HSET', KEYS[3], 'paused_from', held[2] or held[1], 'paused_to', now_text, 'updated_at', now_text)
            redis.call('HDEL', KEYS[3], 'paused')
            if held[3] and not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
                redis.call('ZADD', KEYS[1], held[3], ARGV[1])
            end
            return 1
            """)
}

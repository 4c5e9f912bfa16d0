import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: due, the schedule's hash. ARGV: name.
    ///
    /// Pauses a schedule: it leaves the due set, so no worker takes it, and its hash records when (`paused`).
    /// Pausing a paused schedule changes nothing. Returns 1, or 0 when there is no such schedule.
    static let pause = RedisScript(
        now + """

            if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
            if redis.call('HEXISTS', KEYS[2], 'paused') == 1 then return 1 end
            redis.call('HSET', KEYS[2], 'paused', now_text, 'updated_at', now_text)
            redis.call('ZREM', KEYS[1], ARGV[1])
            return 1
            """)
}

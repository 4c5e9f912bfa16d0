import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: the schedule's hash, its list of runs. ARGV: the run's entry (`<tick> <id> * trigger`), its task id.
    ///
    /// Records a run that `trigger` stored (the task is stored first, on its queue's slot, then recorded here).
    /// Returns 1, or 0 when the schedule is gone.
    static let recordTrigger = RedisScript(
        now + """

            if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
            local entry = string.gsub(ARGV[1], '%*', now_text)
            redis.call('LPUSH', KEYS[2], entry)
            redis.call('LTRIM', KEYS[2], 0, \(ScheduleScripts.listLength - 1))
            redis.call('HINCRBY', KEYS[1], 'fired', 1)
            redis.call('HSET', KEYS[1], 'last_id', ARGV[2])
            return 1
            """)
}

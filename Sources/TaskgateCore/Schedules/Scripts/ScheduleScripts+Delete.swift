import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: names, due, firing, the schedule's hash, its list of runs, its list of misses. ARGV: name.
    ///
    /// Removes a schedule and everything it keeps; a worker firing it at this moment finds its commit refused.
    /// Returns 1, or 0 when there was no such schedule.
    static let delete = RedisScript(
        """
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('DEL', KEYS[5], KEYS[6])
        redis.call('ZREM', KEYS[1], ARGV[1])
        return redis.call('DEL', KEYS[4])
        """)
}

import TaskgateRedis

extension TaskScripts {
    /// KEYS: leases, task(1), ..., task(n). ARGV: lease_ms, id(1), token(1), ..., id(n), token(n).
    /// Pushes back the deadline of each lease still held; returns 1 per lease extended, 0 per lease lost.
    /// No state changes, so no event.
    static let extend = RedisScript(
        now + """

            local held = {}
            for i = 2, #KEYS do
                local id, token = ARGV[2 * i - 2], ARGV[2 * i - 1]
                local record = redis.call('HMGET', KEYS[i], 'state', 'token')
                if record[1] == 'active' and record[2] == token and redis.call('ZSCORE', KEYS[1], id) then
                    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
                    held[#held + 1] = 1
                else
                    held[#held + 1] = 0
                end
            end
            return held
            """)
}

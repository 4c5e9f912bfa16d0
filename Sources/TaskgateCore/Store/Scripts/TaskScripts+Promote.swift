import TaskgateRedis

extension TaskScripts {
    /// KEYS: scheduled, pending, retrying, task(1), ..., task(n). ARGV: event channel, id(1), ..., id(n).
    /// Moves each id that is still scheduled or retrying and due, publishing `promoted` for each; returns how
    /// many moved.
    static let promote = RedisScript(
        now + events(channel: "ARGV[1]") + """

            local moved = 0
            for i = 2, #ARGV do
                local id = ARGV[i]
                local set = KEYS[1]
                local score = redis.call('ZSCORE', set, id)
                if not score then
                    set = KEYS[3]
                    score = redis.call('ZSCORE', set, id)
                end
                if score and tonumber(score) <= now then
                    redis.call('ZREM', set, id)
                    local record = redis.call('HMGET', KEYS[i + 2], 'state', 'type', 'attempts', 'retries', 'seq')
                    if record[1] then
                        local seq = tonumber(record[5] or '0') + 1
                        redis.call('HSET', KEYS[i + 2], 'state', 'pending', 'updated_at', now, 'seq', seq)
                        redis.call('LPUSH', KEYS[2], id)
                        event(id, 'promoted', 'pending', record[2], record[3], record[4], seq)
                        moved = moved + 1
                    end
                end
            end
            publish()
            return moved
            """)
}

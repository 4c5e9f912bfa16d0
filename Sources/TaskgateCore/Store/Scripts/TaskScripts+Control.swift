import TaskgateRedis

extension TaskScripts {
    /// KEYS: control. ARGV: event channel, queue, event kind, a field that makes the call change nothing when it
    /// is set already (`''` for none: pausing a paused queue keeps its first pause time), n, then n fields to
    /// delete, then field/value pairs to set (a value `now` is Redis' time).
    ///
    /// Changes a queue's operator settings (pause, resume, limits) and publishes one queue event,
    /// `{"queue":...,"event":<kind>,"at":...,"paused":<bool>,"max_per_second":...,"burst":...,"max_active":...}`
    /// (a limit not set is `null`), in one step; nothing, when the call changes nothing. Claims read the hash in their own scripts, so a claim that
    /// starts after this returns sees the change. Returns the hash's fields after the change.
    static let control = RedisScript(
        now + """

            local key, deleting = KEYS[1], tonumber(ARGV[5])
            if ARGV[4] ~= '' and redis.call('HEXISTS', key, ARGV[4]) == 1 then
                return redis.call('HGETALL', key)
            end
            local deleted = {}
            for i = 6, 5 + deleting do deleted[#deleted + 1] = ARGV[i] end
            if #deleted > 0 then redis.call('HDEL', key, unpack(deleted)) end
            local set = {}
            for i = 6 + deleting, #ARGV, 2 do
                local value = ARGV[i + 1]
                if value == 'now' then value = now end
                set[#set + 1] = ARGV[i]
                set[#set + 1] = value
            end
            if #set > 0 then redis.call('HSET', key, unpack(set)) end
            local c = redis.call('HMGET', key, 'paused', 'max_per_second', 'burst', 'max_active')
            local function number(v) if v then return v end return 'null' end
            local event = string.format('{"queue":%s,"event":"%s","at":%d,"paused":%s,"max_per_second":%s,'
                .. '"burst":%s,"max_active":%s}', cjson.encode(ARGV[2]), ARGV[3], now, tostring(c[1] ~= false),
                number(c[2]), number(c[3]), number(c[4]))
            redis.call('\(publishCommand)', ARGV[1], event)
            return redis.call('HGETALL', key)
            """)
}

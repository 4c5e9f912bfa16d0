import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: due, firing. ARGV: the most schedules to take, the claim's length (ms), the claim's token, the
    /// prefix of schedule hashes.
    ///
    /// Takes due schedules for one worker to fire: first those whose earlier claim ran out (a worker died or
    /// stalled while firing them), then those whose next tick is due. Each leaves the due set for the firing set
    /// (scored by when this claim runs out) and records the token, so only this worker's commit lands, and no
    /// other worker takes it meanwhile. A name whose hash is gone (deleted) is dropped.
    ///
    /// The first claim of a tick records when it was made (`claimed_at`); a claim that takes over an earlier one
    /// keeps that time, so the new claimer plans as of the same moment and fires the very ticks the first one
    /// may have stored (under the same ids) instead of newer ones.
    ///
    /// Returns `{now, earliest, name, spec, next, buffered, last_id, timing, paused, paused_from, paused_to,
    /// claimed_at, ...}` with `''` for what a schedule lacks; `earliest` is the soonest time (ms) anything is due
    /// or runs out, `''` when nothing is.
    static let claim = RedisScript(
        now + """

            local limit, lease, token, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
            local names = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now_text, 'LIMIT', 0, limit)
            if #names < limit then
                local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_text, 'LIMIT', 0, limit - #names)
                for i = 1, #due do names[#names + 1] = due[i] end
            end
            local out = {now, ''}
            local until_text = string.format('%d', now + lease)
            -- One ZREM and one ZADD for the whole batch: per schedule only its HMGET and HSET.
            local held, gone = {}, {}
            for i = 1, #names do
                local name = names[i]
                local key = prefix .. name
                local f = redis.call('HMGET', key, 'spec', 'next', 'buffered', 'last_id', 'timing', 'paused',
                    'paused_from', 'paused_to', 'claimed_at')
                if not f[1] then
                    gone[#gone + 1] = name
                else
                    if not f[9] then f[9] = now_text end
                    redis.call('HSET', key, 'token', token, 'claimed_at', f[9])
                    held[#held + 1] = until_text
                    held[#held + 1] = name
                    out[#out + 1] = name
                    for j = 1, 9 do out[#out + 1] = f[j] or '' end
                end
            end
            if #names > 0 then redis.call('ZREM', KEYS[1], unpack(names)) end
            if #gone > 0 then redis.call('ZREM', KEYS[2], unpack(gone)) end
            if #held > 0 then redis.call('ZADD', KEYS[2], unpack(held)) end
            local earliest = nil
            for _, set in ipairs(KEYS) do
                local head = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
                if head[2] and (earliest == nil or tonumber(head[2]) < earliest) then earliest = tonumber(head[2]) end
            end
            if earliest then out[2] = string.format('%d', earliest) end
            return out
            """, derivesKeys: true)
}

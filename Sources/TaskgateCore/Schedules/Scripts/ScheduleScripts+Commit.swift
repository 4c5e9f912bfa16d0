import TaskgateRedis

extension ScheduleScripts {
    /// KEYS: due, firing. ARGV: the claim's token, the prefixes of schedule hashes, run lists and miss lists, then
    /// six per schedule: name, the timing it was planned with, next (ms, `''` for never), buffered (`''` for
    /// none), its runs (entries `<tick> <id> * <kind>`, one per line) and its misses (`<from> <to> <count>
    /// <reason> <fired_late> *`, one per line).
    ///
    /// Ends a claim whose tasks are stored: moves the schedule's next tick on, keeps the runs and misses (each
    /// `*` becomes Redis' time; lists bounded to \(ScheduleScripts.listLength)), and puts the schedule back in
    /// the due set unless it was paused meanwhile (every second while a buffered tick waits). Only the claim's own
    /// token commits: a claim that ran out and was taken over by another worker changes nothing. When the timing
    /// was changed meanwhile (`PUT`), the runs are kept but the new timing's next tick stays.
    ///
    /// Returns one number per schedule: 1 committed, 0 refused (claim lost, or the schedule deleted).
    static let commit = RedisScript(
        now + """

            local token, prefix, fired_prefix, missed_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
            local length = \(ScheduleScripts.listLength)
            local results = {}
            local function keep(list, text)
                local count = 0
                local last = nil
                for entry in string.gmatch(text, '[^\\n]+') do
                    local stamped = string.gsub(entry, '%*', now_text)
                    redis.call('LPUSH', list, stamped)
                    count = count + 1
                    last = entry
                end
                if count > 0 then redis.call('LTRIM', list, 0, length - 1) end
                return count, last
            end
            local done, due = {}, {}
            for i = 5, #ARGV, 6 do
                local name = ARGV[i]
                local key = prefix .. name
                local f = redis.call('HMGET', key, 'token', 'timing', 'paused', 'paused_to', 'next')
                if f[1] ~= token then
                    results[#results + 1] = 0
                else
                    done[#done + 1] = name
                    -- What the commit sets and deletes, gathered into one HSET and one HDEL.
                    local sets, deletes = {}, {'token', 'claimed_at'}
                    local next = f[5]
                    if f[2] == ARGV[i + 1] then
                        next = ARGV[i + 2] ~= '' and ARGV[i + 2] or nil
                        if next then
                            sets[#sets + 1] = 'next'
                            sets[#sets + 1] = next
                        else
                            deletes[#deletes + 1] = 'next'
                        end
                        if ARGV[i + 3] ~= '' then
                            sets[#sets + 1] = 'buffered'
                            sets[#sets + 1] = ARGV[i + 3]
                        else
                            deletes[#deletes + 1] = 'buffered'
                        end
                        if f[4] and (next == nil or tonumber(next) >= tonumber(f[4])) then
                            deletes[#deletes + 1] = 'paused_from'
                            deletes[#deletes + 1] = 'paused_to'
                        end
                    end
                    local runs, last = keep(fired_prefix .. name, ARGV[i + 4])
                    if runs > 0 then
                        -- The last run's id, beside its list: the claim's one HMGET reads it for the overlap check.
                        redis.call('HINCRBY', key, 'fired', runs)
                        sets[#sets + 1] = 'last_id'
                        sets[#sets + 1] = string.match(last, '^%d+ (%S+)')
                    end
                    redis.call('HDEL', key, unpack(deletes))
                    if #sets > 0 then redis.call('HSET', key, unpack(sets)) end
                    if ARGV[i + 5] ~= '' then
                        local missed = 0
                        for entry in string.gmatch(ARGV[i + 5], '[^\\n]+') do
                            missed = missed + tonumber(string.match(entry, '^%d+ %d+ (%d+)'))
                        end
                        keep(missed_prefix .. name, ARGV[i + 5])
                        if missed > 0 then redis.call('HINCRBY', key, 'missed', missed) end
                    end
                    if not f[3] and next then
                        local score = tonumber(next)
                        if ARGV[i + 3] ~= '' and now + 1000 < score then score = now + 1000 end
                        due[#due + 1] = string.format('%d', score)
                        due[#due + 1] = name
                    end
                    results[#results + 1] = 1
                end
            end
            if #done > 0 then redis.call('ZREM', KEYS[2], unpack(done)) end
            if #due > 0 then redis.call('ZADD', KEYS[1], unpack(due)) end
            return results
            """, derivesKeys: true)
}

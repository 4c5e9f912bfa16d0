import TaskgateRedis

extension WorkflowScripts {
    /// KEYS: released (the outbox). ARGV: lease_ms, max, task key prefix, id prefix (`<queue>.`), tombstone key
    /// prefix, children key prefix.
    ///
    /// Takes up to `max` due entries of a queue's outbox for a drainer, each held until the lease's end (its score
    /// moves there, so one whose drainer dies comes due again by itself). Returns per entry `{id, held_until,
    /// state, result, last_error, batch, child ids...}`: the task as it stands now (a deleted one from its
    /// tombstone), result as compact JSON (`''` for none; a text result of an earlier version as a JSON string),
    /// `''` for no batch. An entry whose task and tombstone are both gone is dropped: there is no one to tell.
    /// Cost: O(log n) on the outbox, plus one record read and the children's set per entry.
    static let claimReleased = RedisScript(
        TaskScripts.now + """

            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
            local held_until = int_text(now + tonumber(ARGV[1]))
            local out, prefix_length = {}, string.len(ARGV[4])
            for _, id in ipairs(due) do
                local token = string.sub(id, prefix_length + 1)
                local fields = {'state', 'value', 'result', 'last_error', 'batch', 'kids'}
                local held = redis.call('HMGET', ARGV[3] .. token, unpack(fields))
                if not held[1] then held = redis.call('HMGET', ARGV[5] .. token, unpack(fields)) end
                if not held[1] then
                    redis.call('ZREM', KEYS[1], id)
                else
                    redis.call('ZADD', KEYS[1], held_until, id)
                    local value = held[2] or ''
                    if value == '' and held[3] then value = cjson.encode(held[3]) end
                    local entry = {id, held_until, held[1], value, held[4] or '', held[5] or ''}
                    if held[6] then
                        for _, child in ipairs(redis.call('SMEMBERS', ARGV[6] .. token)) do entry[#entry + 1] = child end
                    end
                    out[#out + 1] = entry
                end
            end
            return out
            """, derivesKeys: true)

    /// KEYS: released (the outbox). ARGV: retention_ms, task key prefix, id prefix, tombstone key prefix,
    /// children key prefix, then pairs of id and the `held_until` its claim returned.
    ///
    /// Ends drained entries: one still held as claimed (no change came since: a change puts it back due now)
    /// leaves the outbox, and a final task's record (unless its callback is still to be delivered) and its
    /// children's set start their retention; a tombstone and its set are removed. Returns how many ended.
    static let finishReleased = RedisScript(
        TaskScripts.now + """

            local ended, prefix_length = 0, string.len(ARGV[3])
            for i = 6, #ARGV, 2 do
                local id = ARGV[i]
                local current = redis.call('ZSCORE', KEYS[1], id)
                if current and tonumber(current) == tonumber(ARGV[i + 1]) then
                    redis.call('ZREM', KEYS[1], id)
                    local token = string.sub(id, prefix_length + 1)
                    local task, children = ARGV[2] .. token, ARGV[5] .. token
                    local held = redis.call('HMGET', task, 'state', 'callback_state')
                    if held[1] then
                        local final = held[1] == 'succeeded' or held[1] == 'dead' or held[1] == 'cancelled'
                        if final and held[2] ~= 'pending' then
                            redis.call('PEXPIRE', task, ARGV[1])
                            redis.call('PEXPIRE', children, ARGV[1])
                        end
                    else
                        redis.call('DEL', ARGV[4] .. token, children)
                    end
                    ended = ended + 1
                end
            end
            return ended
            """, derivesKeys: true)

    /// KEYS: waiting, callbacks, released (the outbox). ARGV: event channel, retention_ms, max, task key prefix,
    /// id prefix.
    ///
    /// Ends up to `max` waiting tasks of a queue whose `expires_at` has passed: `cancelled`, `last_error` saying
    /// they waited past it (publishes `cancelled`; their children and batch are told through the outbox). Ids
    /// there that no longer wait are dropped from the set. Returns how many were cancelled.
    static let expireWaiting = RedisScript(
        TaskScripts.now + TaskScripts.events(channel: "ARGV[1]") + TaskScripts.finish + waitingTask + """

            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
            local cancelled, prefix_length = 0, string.len(ARGV[5])
            for _, id in ipairs(due) do
                local task = ARGV[4] .. string.sub(id, prefix_length + 1)
                if redis.call('HGET', task, 'state') == 'waiting' then
                    cancel_waiting(task, id, '', 'expired: its parents were not done by expires_at', ARGV[2], KEYS[1],
                        KEYS[2], KEYS[3])
                    cancelled = cancelled + 1
                else
                    redis.call('ZREM', KEYS[1], id)
                end
            end
            publish()
            return cancelled
            """, derivesKeys: true)
}

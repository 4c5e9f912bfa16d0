import TaskgateRedis

extension TaskScripts {
    /// KEYS: active, leases, callbacks, stats, released (the outbox), task(1), ..., task(n). ARGV: retention_ms, event channel, then id, token,
    /// result (compact JSON, stored as the field `value`) for each task. Completes held tasks, one or many in one call (a single completion is a call of
    /// one); returns per task 1, 2 when it also has a callback to deliver (now due on the callbacks set), 0
    /// when the caller does not hold it (nothing is changed then), or Redis' error message when a command
    /// failed for that task alone. Publishes one `succeeded` event per task completed, in one message.
    ///
    /// Three calls per task (check, write, expire), a fourth only while someone listens to events; the leases
    /// and the queue's succeeded count go in one call (two for the count) per batch. A held task is never
    /// on the active list (see `start`), so that is only searched when it exists at all (ids a worker of an
    /// earlier version started). The last attempt's token stays on the finished record: every report checks
    /// `state == 'active'` first, so it grants nothing, and leaving it saves a call per task.
    static let completeMany = RedisScript(
        now + events(channel: "ARGV[2]") + finish + countOutcome + """

            local done, finished = {}, {}
            local search_active = redis.call('EXISTS', KEYS[1]) == 1
            local function complete_one(i)
                local base = 3 * (i - 6) + 3
                local id, token = ARGV[base], ARGV[base + 1]
                local held = redis.call('HMGET', KEYS[i], 'state', 'token', 'seq', 'callback', 'kids', 'batch')
                if held[1] ~= 'active' or held[2] ~= token then return 0 end
                if search_active then redis.call('LREM', KEYS[1], 1, id) end
                local seq = tonumber(held[3] or '0') + 1
                redis.call('HSET', KEYS[i], 'state', 'succeeded', 'value', ARGV[base + 2], 'finished_at', now_text,
                    'updated_at', now_text, 'seq', int_text(seq))
                local delivering = finish(KEYS[i], id, held[4], ARGV[1], KEYS[3], held[5] or held[6], KEYS[5])
                finished[#finished + 1] = id
                -- What only the event needs is read only when someone listens: the hot path reads six fields.
                if listening() then
                    local about = redis.call('HMGET', KEYS[i], 'type', 'attempts', 'retries')
                    event(id, 'succeeded', 'succeeded', about[1], about[2], about[3], seq)
                end
                if delivering then return 2 end
                return 1
            end
            for i = 6, #KEYS do
                -- A task whose commands fail (a key of the wrong type, say) reports its error alone.
                local ok, result = pcall(complete_one, i)
                if ok then
                    done[#done + 1] = result
                else
                    done[#done + 1] = type(result) == 'table' and result.err or tostring(result)
                end
            end
            if #finished > 0 then
                redis.call('ZREM', KEYS[2], unpack(finished))
                count_outcome(KEYS[4], 's', #finished)
            end
            publish()
            return done
            """)
}

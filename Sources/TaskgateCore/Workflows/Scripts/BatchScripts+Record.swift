import TaskgateRedis

extension BatchScripts {
    /// KEYS: callbacks, released (the batches' outbox), then per entry: batch, members. ARGV: event channel, then
    /// three per entry: batch id, task id, the task's state now.
    ///
    /// Counts batch members as their states change, each at most once per change: `members` maps each final
    /// task to the state it is counted in, so a repeat changes nothing, a task that ends again in another
    /// state (requeued, then succeeded) moves from one count to the other, and one that is live again leaves
    /// the counts. The change that makes every task final completes the batch (``completeBatch``): exactly
    /// once, whichever drainer tells it. A complete batch counts nothing more (its webhook said its counts).
    /// Each batch whose counts changed and that is not complete gets one `batch_progress` event per call.
    /// Returns per entry `counted`, `completed`, `same`, `uncounted`, `complete` (already) or `missing` (no such
    /// batch: expired).
    static let record = RedisScript(
        TaskScripts.now + completeBatch + """

            local replies, k, touched, order = {}, 3, {}, {}
            for a = 2, #ARGV, 3 do
                local batch, members = KEYS[k], KEYS[k + 1]
                k = k + 2
                local id, task, state = ARGV[a], ARGV[a + 1], ARGV[a + 2]
                local held = redis.call('HMGET', batch, 'total', 'complete', 'expires_at')
                local reply
                if not held[1] then reply = 'missing'
                elseif held[2] then reply = 'complete'
                else
                    local before = redis.call('HGET', members, task)
                    local final = state == 'succeeded' or state == 'dead' or state == 'cancelled'
                    if before == state or (not before and not final) then reply = 'same'
                    else
                        if before then redis.call('HINCRBY', batch, before, -1) end
                        if final then
                            redis.call('HSET', members, task, state)
                            redis.call('PEXPIREAT', members, held[3])
                            redis.call('HINCRBY', batch, state, 1)
                            reply = 'counted'
                            if redis.call('HLEN', members) >= tonumber(held[1]) then
                                complete_batch(batch, id, ARGV[1], KEYS[1], KEYS[2])
                                reply = 'completed'
                            end
                        else
                            redis.call('HDEL', members, task)
                            reply = 'uncounted'
                        end
                        if touched[id] == nil then order[#order + 1] = id end
                        touched[id] = reply == 'completed' and 'done' or (touched[id] or batch)
                    end
                end
                replies[#replies + 1] = reply
            end
            -- One progress event per batch whose counts changed (not per task) and that is not complete now.
            for _, id in ipairs(order) do
                local batch = touched[id]
                if batch ~= 'done' then
                    local total, succeeded, dead, cancelled = batch_counts(batch)
                    redis.call('\(TaskScripts.publishCommand)', ARGV[1], string.format(
                        '{"batch":%s,"event":"batch_progress","counts":{"total":%d,"succeeded":%d,"dead":%d,'
                        .. '"cancelled":%d,"unfinished":%d},"at":%d}', cjson.encode(id), total, succeeded, dead,
                        cancelled, math.max(0, total - succeeded - dead - cancelled), now))
                end
            end
            return replies
            """)
}

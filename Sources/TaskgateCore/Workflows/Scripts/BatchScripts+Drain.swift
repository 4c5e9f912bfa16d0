import TaskgateRedis

extension BatchScripts {
    /// KEYS: released (the batches' outbox). ARGV: lease_ms, max, batch key prefix, children key prefix.
    ///
    /// Takes up to `max` complete batches whose children are to be told, each held until the lease's end.
    /// Returns per entry `{id, held_until, state, result, child ids...}`: state `succeeded` when every task of
    /// the batch did, else `dead`; the result `{"id":..,"total":..,"succeeded":..,"dead":..,"cancelled":..}`.
    /// A batch gone (expired) is dropped.
    static let claimReleased = RedisScript(
        TaskScripts.now + completeBatch + """

            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
            local held_until = int_text(now + tonumber(ARGV[1]))
            local out = {}
            for _, id in ipairs(due) do
                local batch = ARGV[3] .. id
                if redis.call('HGET', batch, 'complete') ~= '1' then
                    redis.call('ZREM', KEYS[1], id)
                else
                    redis.call('ZADD', KEYS[1], held_until, id)
                    local total, succeeded, dead, cancelled = batch_counts(batch)
                    local state = 'succeeded'
                    if dead + cancelled > 0 then state = 'dead' end
                    local result = string.format('{"id":%s,"total":%d,"succeeded":%d,"dead":%d,"cancelled":%d}',
                        cjson.encode(id), total, succeeded, dead, cancelled)
                    local entry = {id, held_until, state, result}
                    for _, child in ipairs(redis.call('SMEMBERS', ARGV[4] .. id)) do entry[#entry + 1] = child end
                    out[#out + 1] = entry
                end
            end
            return out
            """, derivesKeys: true)

    /// KEYS: released (the batches' outbox). ARGV: pairs of batch id and the `held_until` its claim returned.
    /// Ends the entries still held as claimed. Returns how many ended.
    static let finishReleased = RedisScript(
        """

        local ended = 0
        for i = 1, #ARGV, 2 do
            local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
            if current and tonumber(current) == tonumber(ARGV[i + 1]) then
                redis.call('ZREM', KEYS[1], ARGV[i])
                ended = ended + 1
            end
        end
        return ended
        """)

    /// KEYS: batch, callbacks. ARGV: id, try, outcome (`delivered`, `retry`, `dead`), status (`0` for none),
    /// error (`''`), delay_ms.
    ///
    /// Records how a webhook try went (the try taken by ``TaskScripts/claimCallbacks``, which serves batches
    /// too), if that try still holds the delivery; returns 0 (nothing changed)
    /// otherwise. `retry` makes it due again after `delay_ms`. Returns 1.
    static let finishCallback = RedisScript(
        TaskScripts.now + """

            local held = redis.call('HMGET', KEYS[1], 'callback_state', 'callback_tries')
            if held[1] ~= 'pending' or held[2] ~= ARGV[2] then return 0 end
            local fields = {'callback_status', ARGV[4], 'callback_error', ARGV[5]}
            if ARGV[3] == 'retry' then
                redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[1])
            else
                redis.call('ZREM', KEYS[2], ARGV[1])
                fields[#fields + 1] = 'callback_state'
                fields[#fields + 1] = ARGV[3]
                fields[#fields + 1] = 'callback_at'
                fields[#fields + 1] = now
            end
            redis.call('HSET', KEYS[1], unpack(fields))
            return 1
            """)
}

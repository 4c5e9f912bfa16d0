import TaskgateRedis

extension TaskScripts {
    /// KEYS: callbacks. ARGV: lease_ms, max, task_key_prefix (`<prefix>:{<queue>}:task:`), id_prefix
    /// (`<queue>.`).
    ///
    /// Takes up to `max` callback deliveries that are due: each gets a lease by moving its score on the
    /// callbacks set to `now + lease_ms` (a deliverer that dies leaves it to come due again there, so a
    /// delivery is never lost), and its try counter goes up by one; the try number is the delivery's token.
    /// Returns `{id, try, flat record}` per delivery. An id whose record is gone, or whose delivery is no longer
    /// pending, is dropped from the set. Task keys are derived from the ids (same hash tag, same slot). No state
    /// of the task changes, so no event: the outcome publishes one (``finishCallback``).
    ///
    /// Batch webhooks are claimed by the same script: KEYS `{batches}:callbacks`, the batch key prefix and an
    /// empty id prefix (a batch's key is the prefix and its id).
    static let claimCallbacks = RedisScript(
        now + """

            local taken = {}
            local prefix_length = string.len(ARGV[4])
            local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
            for _, id in ipairs(due) do
                local task = ARGV[3] .. string.sub(id, prefix_length + 1)
                if string.sub(id, 1, prefix_length) ~= ARGV[4]
                    or redis.call('HGET', task, 'callback_state') ~= 'pending' then
                    redis.call('ZREM', KEYS[1], id)
                else
                    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
                    local try = redis.call('HINCRBY', task, 'callback_tries', 1)
                    taken[#taken + 1] = {id, try, redis.call('HGETALL', task)}
                end
            end
            return taken
            """, derivesKeys: true)
}

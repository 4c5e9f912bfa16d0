import TaskgateRedis

extension TaskScripts {
    /// KEYS: dead, pending, released (the outbox). ARGV: event channel, task key prefix (`<prefix>:{<queue>}:task:`), id prefix
    /// (`<queue>.`), then either the ids to requeue or `*` and a count.
    ///
    /// Puts dead tasks back to pending with `retries` reset to 0: their `last_error` and `attempts` stay, as does
    /// the record (its expiry is removed: it is live again). Given ids (one or more), requeues each that is dead;
    /// given `*` and a count instead (`ARGV[4] == '*'`, `ARGV[5]` the count), takes up to that many of the
    /// oldest dead ids, a bounded step of requeuing them all (an id there that is no dead task is dropped from
    /// the set, so every step makes progress). Each goes to the claiming end of the pending list,
    /// so it runs next; one with children or a batch goes on the outbox, so children cancelled because it died
    /// wait again and its batch counts it unfinished (see ``WorkflowReleaser``). Publishes `requeued` for each. Returns `{requeued, dead_left, state_1, ..., state_n}`:
    /// per id given, `'requeued'`, its state when it is not dead, or `''` when it has no record.
    static let requeueDead = RedisScript(
        now + events(channel: "ARGV[1]") + """

            local ids, given = {}, ARGV[4] ~= '*'
            if given then
                for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
            else
                ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[5]) - 1)
            end
            local outcomes, requeued, prefix_length = {}, 0, string.len(ARGV[3])
            for _, id in ipairs(ids) do
                local task = ARGV[2] .. string.sub(id, prefix_length + 1)
                local held = nil
                if string.sub(id, 1, prefix_length) == ARGV[3] then
                    held = redis.call('HMGET', task, 'state', 'type', 'attempts', 'seq', 'kids', 'batch')
                end
                if held and held[1] == 'dead' then
                    local seq = tonumber(held[4] or '0') + 1
                    redis.call('ZREM', KEYS[1], id)
                    redis.call('PERSIST', task)
                    redis.call('HDEL', task, 'finished_at', 'callback_state')
                    redis.call('HSET', task, 'state', 'pending', 'retries', 0, 'updated_at', now, 'seq', seq)
                    redis.call('RPUSH', KEYS[2], id)
                    if held[5] or held[6] then redis.call('ZADD', KEYS[3], now, id) end
                    event(id, 'requeued', 'pending', held[2], held[3], 0, seq)
                    requeued = requeued + 1
                    outcomes[#outcomes + 1] = 'requeued'
                else
                    if not given then redis.call('ZREM', KEYS[1], id) end
                    outcomes[#outcomes + 1] = (held and held[1]) or ''
                end
            end
            publish()
            local reply = {requeued, redis.call('ZCARD', KEYS[1])}
            if given then
                for _, outcome in ipairs(outcomes) do reply[#reply + 1] = outcome end
            end
            return reply
            """, derivesKeys: true)
}

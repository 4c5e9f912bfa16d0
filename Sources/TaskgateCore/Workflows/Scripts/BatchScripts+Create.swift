import TaskgateRedis

extension BatchScripts {
    /// KEYS: batch, expiry. ARGV: id, total, metadata (compact JSON, `''` for none), callback_url (`''`),
    /// expires_at (ms, Redis time).
    ///
    /// Creates a batch of `total` tasks, before any of them is stored (so the first to end finds it), expiring
    /// at `expires_at` with every key of it; trims batches past their expiry from the expiry set. Returns 1, or
    /// 0 when the id is taken (nothing is written).
    static let create = RedisScript(
        TaskScripts.now + """

            if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
            local fields = {'id', ARGV[1], 'total', ARGV[2], 'created_at', now, 'expires_at', ARGV[5]}
            if ARGV[3] ~= '' then fields[#fields + 1] = 'metadata'; fields[#fields + 1] = ARGV[3] end
            if ARGV[4] ~= '' then fields[#fields + 1] = 'callback'; fields[#fields + 1] = ARGV[4] end
            redis.call('HSET', KEYS[1], unpack(fields))
            redis.call('PEXPIREAT', KEYS[1], ARGV[5])
            redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
            redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
            return 1
            """)

    /// KEYS: released (the batches' outbox), then per batch: batch, children. ARGV: per batch its id, a child
    /// count c and c child ids.
    ///
    /// Records tasks that wait for whole batches (`after: ["batch:<id>"]`), before they are stored. A batch that
    /// is complete already goes on the outbox at once. Returns per batch `complete`, `open`, or `''` when there
    /// is no such batch (nothing is written for it).
    static let link = RedisScript(
        TaskScripts.now + WorkflowScripts.addMembers + """

            local replies, k, a = {}, 2, 1
            while a <= #ARGV do
                local batch, children = KEYS[k], KEYS[k + 1]
                k = k + 2
                local id, count = ARGV[a], tonumber(ARGV[a + 1])
                local first = a + 2
                a = first + count
                local held = redis.call('HMGET', batch, 'expires_at', 'complete')
                if not held[1] then
                    replies[#replies + 1] = ''
                else
                    add_members(children, first, first + count - 1)
                    redis.call('PEXPIREAT', children, held[1])
                    redis.call('HSET', batch, 'kids', '1')
                    if held[2] then
                        redis.call('ZADD', KEYS[1], now, id)
                        replies[#replies + 1] = 'complete'
                    else
                        replies[#replies + 1] = 'open'
                    end
                end
            end
            return replies
            """)
}

import TaskgateRedis

extension WorkflowScripts {
    /// KEYS: released (the outbox), then per parent: task, children. ARGV: per parent its id, a child count c and
    /// c child ids.
    ///
    /// Records children of tasks stored before (the parents of a workflow request that are not in it), on the
    /// parents' slot, before the children are stored: each parent's `children` set and `kids` field. A parent
    /// that is final already goes on the outbox at once and is kept (no expiry) until a drainer tells its
    /// children, which finds them stored or leaves them an early release. Returns per parent its state, or
    /// `''` when it has no record (nothing is written for it).
    static let link = RedisScript(
        TaskScripts.now + addMembers + """

            local replies, k, a = {}, 2, 1
            while a <= #ARGV do
                local task, children = KEYS[k], KEYS[k + 1]
                k = k + 2
                local id, count = ARGV[a], tonumber(ARGV[a + 1])
                local first = a + 2
                a = first + count
                local state = redis.call('HGET', task, 'state')
                if not state then
                    replies[#replies + 1] = ''
                else
                    add_members(children, first, first + count - 1)
                    redis.call('HSET', task, 'kids', '1')
                    if state == 'succeeded' or state == 'dead' or state == 'cancelled' then
                        redis.call('PERSIST', task)
                        redis.call('PERSIST', children)
                        redis.call('ZADD', KEYS[1], now, id)
                    end
                    replies[#replies + 1] = state
                end
            end
            return replies
            """)
}

import TaskgateRedis

extension TaskScripts {
    /// KEYS: task, pending, scheduled, retrying, dead, leases, active, callbacks, waiting, released (the outbox),
    /// tombstone. ARGV: id, what (`delete` or `cancel`), retention_ms, event channel, cancellation channel,
    /// workflow retention_ms.
    ///
    /// Takes a task out of whatever index holds it, in one step, so no claim, promotion or completion can run in
    /// between; whichever of this and a completion runs first decides the task's one final state.
    /// - `delete` removes a task that is not running with its record: pending (`LREM`, O(n) in the list),
    ///   scheduled, retrying, dead or finished. An active task is refused (cancel it first). Publishes `deleted`.
    /// - `cancel` ends a task that has not finished in the final state `cancelled`: a waiting one never runs; an
    ///   active one loses its lease, so its worker's next heartbeat or report is refused and the worker stops
    ///   it (the id is also published on the cancellation channel, which workers listen to, so it stops at
    ///   once). The record is kept for the retention time (or until
    ///   its callback is delivered). Publishes `cancelled`.
    ///
    /// A task with children or a batch goes on the outbox either way, so they are told: a cancelled one as
    /// `cancelled`; a deleted one leaves a tombstone (its batch, whether it has children, state `cancelled`,
    /// error `deleted`) that the drainer reads in its place, and its set of children stays until then.
    ///
    /// Returns `{'ok', state_before}`, `{'refused', state}` when the state does not allow it, `{'unknown'}`
    /// when there is no record.
    static let remove = RedisScript(
        now + events(channel: "ARGV[4]") + finish + """

            local id, what = ARGV[1], ARGV[2]
            local held = redis.call('HMGET', KEYS[1], 'state', 'type', 'attempts', 'retries', 'seq', 'callback', 'kids',
                'batch')
            local linked = held[7] or held[8]
            local state = held[1]
            if not state then return {'unknown'} end
            local final = state == 'succeeded' or state == 'dead' or state == 'cancelled'
            if what == 'delete' and state == 'active' then return {'refused', state} end
            if what == 'cancel' and final then return {'refused', state} end
            if state == 'pending' then redis.call('LREM', KEYS[2], 1, id)
            elseif state == 'scheduled' then redis.call('ZREM', KEYS[3], id)
            elseif state == 'retrying' then
                -- Retries of versions before the retrying set waited in the scheduled set.
                if redis.call('ZREM', KEYS[4], id) == 0 then redis.call('ZREM', KEYS[3], id) end
            elseif state == 'dead' then redis.call('ZREM', KEYS[5], id)
            elseif state == 'waiting' then redis.call('ZREM', KEYS[9], id)
            elseif state == 'active' then
                redis.call('ZREM', KEYS[6], id)
                if redis.call('EXISTS', KEYS[7]) == 1 then redis.call('LREM', KEYS[7], 1, id) end
                if what == 'cancel' then redis.call('\(publishCommand)', ARGV[5], id) end
            end
            local seq = tonumber(held[5] or '0') + 1
            if what == 'delete' then
                redis.call('ZREM', KEYS[8], id)
                redis.call('DEL', KEYS[1])
                if linked then
                    local tomb = {'state', 'cancelled', 'last_error', 'deleted'}
                    if held[7] then tomb[#tomb + 1] = 'kids'; tomb[#tomb + 1] = '1' end
                    if held[8] then tomb[#tomb + 1] = 'batch'; tomb[#tomb + 1] = held[8] end
                    redis.call('HSET', KEYS[11], unpack(tomb))
                    redis.call('PEXPIRE', KEYS[11], ARGV[6])
                    redis.call('ZADD', KEYS[10], now, id)
                end
                event(id, 'deleted', state, held[2], held[3], held[4], seq)
            else
                redis.call('HDEL', KEYS[1], 'token')
                redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', now, 'updated_at', now, 'seq', seq,
                    'last_error', 'cancelled while ' .. state)
                finish(KEYS[1], id, held[6], ARGV[3], KEYS[8], linked, KEYS[10])
                event(id, 'cancelled', 'cancelled', held[2], held[3], held[4], seq, ',"was":"' .. state .. '"')
            end
            publish()
            return {'ok', state}
            """)
}

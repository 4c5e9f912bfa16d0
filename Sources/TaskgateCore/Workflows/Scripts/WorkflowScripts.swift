import TaskgateRedis

/// The Lua scripts of workflows, one per file (`WorkflowScripts+<Name>.swift`), and the fragments they share.
///
/// A task's scripts touch its own queue's slot only; a batch's touch `{batches}` only. What crosses slots (a
/// parent finishing, a child waiting on another master) goes through the parent's outbox and a drainer that
/// calls the child's slot in a second step; every step is idempotent (see ``WorkflowReleaser``), so each is
/// run through ``RedisConnectionPool/run(_:keys:arguments:)``, once more on a fresh connection when one broke.
enum WorkflowScripts {
    /// The most ids a claim of the outbox takes at once.
    static let claimBatch = 50

    /// `add_members(key, first, last)` adds `ARGV[first..last]` to the set `key`, in steps of 1,000 (Lua's
    /// `unpack` takes about 8,000 values at most).
    static let addMembers = """

        local function add_members(key, first, last)
            local ids = {}
            for i = first, last do
                ids[#ids + 1] = ARGV[i]
                if #ids == 1000 then
                    redis.call('SADD', key, unpack(ids))
                    ids = {}
                end
            end
            if #ids > 0 then redis.call('SADD', key, unpack(ids)) end
        end
        """

    /// A parent state's class: `W` still to come (not final, or requeued), `S` succeeded, `F` dead or cancelled.
    /// `release_task` moves a waiting task to pending (or scheduled, when it has a `delay`); `cancel_waiting`
    /// ends it cancelled because of `cause`; `decide` does what a waiting task's counts call for. Needs `now`,
    /// `events` and `finish`. Keys: `pending_key`, `scheduled_key`, `waiting_key`, `callbacks_key` and
    /// `outbox_key` of the task's queue.
    static let waitingTask = """

        local function parent_class(state)
            if state == 'succeeded' then return 'S' end
            if state == 'dead' or state == 'cancelled' then return 'F' end
            return 'W'
        end
        local function release_task(task, id, pending_key, scheduled_key, waiting_key)
            local held = redis.call('HMGET', task, 'seq', 'type', 'delay')
            local seq = tonumber(held[1] or '0') + 1
            local delay = tonumber(held[3] or '0')
            redis.call('ZREM', waiting_key, id)
            redis.call('HDEL', task, 'expires_at')
            -- How many times it was released: 1, or one more per revival (a requeued parent). The fault test
            -- reads it to prove that no release happened twice.
            redis.call('HINCRBY', task, 'releases', 1)
            if delay > 0 then
                redis.call('HSET', task, 'state', 'scheduled', 'run_at', now + delay, 'updated_at', now, 'seq', seq)
                redis.call('ZADD', scheduled_key, now + delay, id)
                event(id, 'released', 'scheduled', held[2], 0, 0, seq, ',"run_at":' .. (now + delay))
            else
                redis.call('HSET', task, 'state', 'pending', 'run_at', now, 'updated_at', now, 'seq', seq)
                redis.call('LPUSH', pending_key, id)
                event(id, 'released', 'pending', held[2], 0, 0, seq)
            end
        end
        local function cancel_waiting(task, id, cause, message, retention, waiting_key, callbacks_key, outbox_key)
            local held = redis.call('HMGET', task, 'seq', 'type', 'callback', 'kids', 'batch')
            local seq = tonumber(held[1] or '0') + 1
            redis.call('ZREM', waiting_key, id)
            redis.call('HDEL', task, 'expires_at')
            redis.call('HSET', task, 'state', 'cancelled', 'last_error', message, 'finished_at', now, 'updated_at', now,
                'seq', seq)
            -- Only a parent's failure can be taken back (requeued); an expiry cannot.
            if cause ~= '' then redis.call('HSET', task, 'cancelled_by', cause) end
            finish(task, id, held[3], retention, callbacks_key, held[4] or held[5], outbox_key)
            event(id, 'cancelled', 'cancelled', held[2], 0, 0, seq, ',"error":' .. cjson.encode(message))
        end
        local function decide(task, id, waits, failed, policy, cause, cause_state, retention, keys)
            if failed > 0 and policy ~= 'run' then
                cancel_waiting(task, id, cause, 'parent ' .. cause .. ' is ' .. cause_state, retention, keys[3],
                    keys[4], keys[5])
                return 'cancelled'
            end
            if waits == 0 then
                release_task(task, id, keys[1], keys[2], keys[3])
                return 'released'
            end
            return 'waiting'
        end
        """
}

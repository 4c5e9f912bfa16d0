import TaskgateRedis

extension WorkflowScripts {
    /// KEYS: pending, scheduled, waiting, callbacks, released (the outbox), then per child: task, early releases.
    /// ARGV: event channel, retention_ms, workflow retention_ms, then five per child: child id, parent id, the
    /// parent's state (`waiting` for one that is not final: requeued), its result (compact JSON, `''` for none)
    /// and its last error (`''`).
    ///
    /// Tells children on one queue's slot how a parent stands, each at most once per change: the child's
    /// `s:<parent>` is the parent's state as last told, so a repeat finds it equal and does nothing. A change
    /// moves the child's counts (`waits`, parents still to come; `failed_parents`) and copies the result and
    /// error beside it (`r:`, `e:`). Then a waiting child decides (``decide``): released when nothing is left to
    /// come and nothing failed (or it runs anyway under `run`), cancelled at the first failure under `cancel`.
    /// A child cancelled because of a parent whose failure no longer stands (the parent was requeued) waits
    /// again: it is live once more, and on the outbox so its own children and batch hear of it. A child with no
    /// record yet gets an early release its store reads (it expires after the workflow retention).
    ///
    /// Returns per child what became of it: `released`, `cancelled`, `waiting`, `revived`, `same` (told
    /// already), `early`, `unknown` (it does not wait for that parent), or its state when only its counts moved.
    static let release = RedisScript(
        TaskScripts.now + TaskScripts.events(channel: "ARGV[1]") + TaskScripts.finish + waitingTask + """

            local queue_keys = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]}
            local replies, k = {}, 6
            for a = 4, #ARGV, 5 do
                local task, early = KEYS[k], KEYS[k + 1]
                k = k + 2
                local id, parent, state, result, failure = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
                local reply
                if redis.call('EXISTS', task) == 0 then
                    if state == 'waiting' then
                        redis.call('HDEL', early, 's:' .. parent, 'r:' .. parent, 'e:' .. parent)
                    else
                        redis.call('HSET', early, 's:' .. parent, state, 'r:' .. parent, result, 'e:' .. parent, failure)
                        redis.call('PEXPIRE', early, ARGV[3])
                    end
                    reply = 'early'
                else
                    local before = redis.call('HGET', task, 's:' .. parent)
                    if not before then reply = 'unknown'
                    elseif before == state then reply = 'same'
                    else
                        local held = redis.call('HMGET', task, 'state', 'waits', 'failed_parents', 'on_parent_failure',
                            'cancelled_by', 'kids', 'batch')
                        local waits, failed = tonumber(held[2] or '0'), tonumber(held[3] or '0')
                        local was, is = parent_class(before), parent_class(state)
                        if was == 'W' then waits = waits - 1 elseif was == 'F' then failed = failed - 1 end
                        if is == 'W' then waits = waits + 1 elseif is == 'F' then failed = failed + 1 end
                        redis.call('HSET', task, 's:' .. parent, state, 'r:' .. parent, result, 'e:' .. parent, failure,
                            'waits', waits, 'failed_parents', failed)
                        reply = held[1]
                        if held[1] == 'waiting' then
                            reply = decide(task, id, waits, failed, held[4], parent, state, ARGV[2], queue_keys)
                        elseif held[1] == 'cancelled' and held[5] and failed == 0 then
                            -- Cancelled because of a failure that no longer stands: it waits again.
                            local seq = tonumber(redis.call('HGET', task, 'seq') or '0') + 1
                            local expires_at = now + tonumber(ARGV[3])
                            redis.call('PERSIST', task)
                            redis.call('HDEL', task, 'cancelled_by', 'last_error', 'finished_at', 'callback_state')
                            redis.call('ZREM', KEYS[4], id)
                            redis.call('HSET', task, 'state', 'waiting', 'expires_at', expires_at, 'updated_at', now,
                                'seq', seq)
                            redis.call('ZADD', KEYS[3], expires_at, id)
                            if held[6] or held[7] then redis.call('ZADD', KEYS[5], now, id) end
                            event(id, 'waiting', 'waiting', redis.call('HGET', task, 'type'), 0, 0, seq)
                            reply = 'revived'
                            if waits == 0 then
                                release_task(task, id, KEYS[1], KEYS[2], KEYS[3])
                                reply = 'released'
                            end
                        end
                    end
                end
                replies[#replies + 1] = reply
            end
            publish()
            return replies
            """)
}

import TaskgateRedis

extension WorkflowScripts {
    /// The fields per task of ``store`` before its parents and children.
    static let storeFields = 13

    /// KEYS: pending, scheduled, waiting, callbacks, released (the outbox), then per task: task, early releases,
    /// children. ARGV: event channel, retention_ms, then per task thirteen fields and two lists: id, type,
    /// payload, max_retries, timeout_ms (`''` for none), delay_ms, callback_url (`''`), batch id (`''`),
    /// on_parent_failure, after (compact JSON array, `''` for none), expires_at (ms, Redis time, for a waiting
    /// task), parent count p, child count c, then p parent ids (`batch:<id>` for a batch) and c child ids.
    ///
    /// Stores the tasks of one queue of a workflow request (every task of a `POST /tasks/batch` with `after`,
    /// `ref` or `batch`, and a `POST /tasks` with `after`), each as the only one would be:
    /// - a task with children records them (`children` set, `kids` field) in the same step, so its end finds
    ///   them; one with a batch records it (`batch`), so its end is counted;
    /// - one without parents is pending (or scheduled) at once, as `enqueue` stores it;
    /// - one with parents is `waiting`, with `s:<parent>` = `waiting` per parent, on the queue's waiting set
    ///   until `expires_at`. A parent released to it before it was stored (its early releases) counts at once:
    ///   all succeeded makes it pending now, a failure under `cancel` cancels it now.
    ///
    /// Publishes `created` (`scheduled`, `waiting`) per task, and `released` or `cancelled` for one decided at
    /// once. Returns per task `'created'`, or `'existing'` when its id is taken (a call repeated; nothing is
    /// written).
    static let store = RedisScript(
        TaskScripts.now + TaskScripts.events(channel: "ARGV[1]") + TaskScripts.finish + waitingTask + addMembers + """

            local queue_keys = {KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]}
            local replies, k, a = {}, 6, 3
            while a <= #ARGV do
                local task, early, children = KEYS[k], KEYS[k + 1], KEYS[k + 2]
                k = k + 3
                local id, task_type, payload, max_retries = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
                local timeout, delay, callback, batch = ARGV[a + 4], tonumber(ARGV[a + 5]), ARGV[a + 6], ARGV[a + 7]
                local policy, after, expires_at = ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]
                local parent_count, child_count = tonumber(ARGV[a + 11]), tonumber(ARGV[a + 12])
                local first_parent = a + 13
                local first_child = first_parent + parent_count
                a = first_child + child_count
                if redis.call('EXISTS', task) == 1 then
                    replies[#replies + 1] = 'existing'
                else
                    local fields = {'id', id, 'type', task_type, 'payload', payload, 'max_retries', max_retries,
                        'created_at', now, 'seq', 1}
                    local function add(name, value)
                        fields[#fields + 1] = name
                        fields[#fields + 1] = value
                    end
                    if timeout ~= '' then add('timeout', timeout) end
                    if callback ~= '' then add('callback', callback) end
                    if batch ~= '' then add('batch', batch) end
                    if child_count > 0 then
                        add('kids', '1')
                        add_members(children, first_child, first_child + child_count - 1)
                    end
                    if parent_count == 0 then
                        local state, run_at = 'pending', now
                        if delay > 0 then state, run_at = 'scheduled', now + delay end
                        add('state', state)
                        if run_at ~= now then add('run_at', run_at) end
                        redis.call('HSET', task, unpack(fields))
                        if state == 'scheduled' then
                            redis.call('ZADD', KEYS[2], run_at, id)
                            event(id, 'scheduled', state, task_type, 0, 0, 1, ',"run_at":' .. run_at)
                        else
                            redis.call('LPUSH', KEYS[1], id)
                            event(id, 'created', state, task_type, 0, 0, 1)
                        end
                    else
                        add('state', 'waiting')
                        add('after', after)
                        add('expires_at', expires_at)
                        if policy == 'run' then add('on_parent_failure', 'run') end
                        if delay > 0 then add('delay', delay) end
                        local released = {}
                        local held = redis.call('HGETALL', early)
                        for i = 1, #held, 2 do released[held[i]] = held[i + 1] end
                        local waits, failed, cause, cause_state = 0, 0, nil, nil
                        for i = first_parent, first_parent + parent_count - 1 do
                            local parent = ARGV[i]
                            local state = released['s:' .. parent] or 'waiting'
                            add('s:' .. parent, state)
                            if released['r:' .. parent] then add('r:' .. parent, released['r:' .. parent]) end
                            if released['e:' .. parent] then add('e:' .. parent, released['e:' .. parent]) end
                            local class = parent_class(state)
                            if class == 'W' then waits = waits + 1
                            elseif class == 'F' then
                                failed = failed + 1
                                if not cause then cause, cause_state = parent, state end
                            end
                        end
                        add('waits', waits)
                        add('failed_parents', failed)
                        redis.call('HSET', task, unpack(fields))
                        if #held > 0 then redis.call('DEL', early) end
                        redis.call('ZADD', KEYS[3], tonumber(expires_at), id)
                        event(id, 'created', 'waiting', task_type, 0, 0, 1)
                        decide(task, id, waits, failed, policy, cause, cause_state, ARGV[2], queue_keys)
                    end
                    replies[#replies + 1] = 'created'
                end
            end
            publish()
            return replies
            """)
}

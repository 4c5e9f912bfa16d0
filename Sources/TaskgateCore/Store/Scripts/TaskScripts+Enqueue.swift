import TaskgateRedis

extension TaskScripts {
    /// KEYS: pending, scheduled, then for each task its task key and, when it has one, its idempotency key.
    /// ARGV: the event channel, then eleven per task: id, type, payload, max_retries, timeout_ms, delay_ms,
    /// window_ms (`0` when the task has no idempotency key), callback_url (`''` for none), not_after (Redis time
    /// in ms after which the task must not be stored, `0` for none), schedule and tick (`''` unless a schedule
    /// fired it).
    ///
    /// Stores any number of tasks of one queue in one call; the gateway sends every request waiting at once,
    /// so Redis pays a script call per batch rather than per task. Tasks are handled in order, each as the
    /// only one would be, and the ready ones are pushed in one LPUSH at the end, in that order. Publishes a
    /// `created` event per task stored (`scheduled` for a delayed one), all in one message.
    ///
    /// Returns `{now, kind(1), data(1), kind(2), data(2), ...}`. A kind is `'created'` (data empty: the caller
    /// knows the record it sent); `'existing'` with the record when the id exists already (a call repeated
    /// after a broken connection; nothing is written); with an idempotency key that is held already,
    /// `'replayed'` with the held id when the earlier request had the same content, or `'conflict'` with it
    /// when it did not (nothing is written); `'late'` when `not_after` has passed (nothing is written, not even
    /// looked at); `'error'` with Redis' message when a command failed for this
    /// task (it is not queued; the other tasks of the call are not affected).
    static let enqueue = RedisScript(
        now + events(channel: "ARGV[1]") + """

            local function field(value) return string.len(value) .. ':' .. value end
            -- One task, as if it were alone; returns its kind and data, and whether it is ready to push.
            local function store(a, task, key)
                local id, task_type, payload, max_retries = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
                local timeout, delay, window = ARGV[a + 4], tonumber(ARGV[a + 5]), ARGV[a + 6]
                local callback, not_after = ARGV[a + 7], tonumber(ARGV[a + 8])
                if not_after > 0 and now > not_after then return 'late', '', false end
                local fingerprint = nil
                if key then
                    local content = field(task_type) .. field(payload) .. field(max_retries) .. field(timeout)
                        .. field(ARGV[a + 5])
                    -- Only a callback adds to the fingerprint, so keys held from before callbacks still match.
                    if callback ~= '' then content = content .. field(callback) end
                    fingerprint = redis.sha1hex(content)
                    local held = redis.call('HMGET', key, 'id', 'fingerprint')
                    if held[1] and held[1] ~= id then
                        if held[2] == fingerprint then return 'replayed', held[1], false end
                        return 'conflict', held[1], false
                    end
                end
                if redis.call('EXISTS', task) == 1 then return 'existing', redis.call('HGETALL', task), false end
                if key then
                    redis.call('HSET', key, 'id', id, 'fingerprint', fingerprint)
                    redis.call('PEXPIRE', key, window)
                end
                local state, run_at = 'pending', now
                if delay > 0 then state, run_at = 'scheduled', now + delay end
                -- Fields that would only repeat a default are left out: the hash stays small and Redis
                -- converts fewer values (retries and attempts start at 0; updated_at and, unless delayed,
                -- run_at are created_at; no timeout means none). TaskRecord reads them back that way.
                local fields = {'id', id, 'type', task_type, 'payload', payload, 'state', state,
                    'max_retries', max_retries, 'created_at', now, 'seq', 1}
                if run_at ~= now then
                    fields[#fields + 1] = 'run_at'
                    fields[#fields + 1] = run_at
                end
                if timeout ~= '' then
                    fields[#fields + 1] = 'timeout'
                    fields[#fields + 1] = timeout
                end
                if callback ~= '' then
                    fields[#fields + 1] = 'callback'
                    fields[#fields + 1] = callback
                end
                if ARGV[a + 9] ~= '' then
                    fields[#fields + 1] = 'schedule'
                    fields[#fields + 1] = ARGV[a + 9]
                    fields[#fields + 1] = 'tick'
                    fields[#fields + 1] = ARGV[a + 10]
                end
                redis.call('HSET', task, unpack(fields))
                if state == 'scheduled' then
                    redis.call('ZADD', KEYS[2], run_at, id)
                    event(id, 'scheduled', state, task_type, 0, 0, 1, ',"run_at":' .. run_at)
                    return 'created', '', false
                end
                event(id, 'created', state, task_type, 0, 0, 1)
                return 'created', '', true
            end
            local replies, ready, k = {now}, {}, 3
            for a = 2, #ARGV, 11 do
                local task, key = KEYS[k], nil
                k = k + 1
                if ARGV[a + 6] ~= '0' then
                    key = KEYS[k]
                    k = k + 1
                end
                -- A task that fails (a key of the wrong type, say) fails alone; the batch goes on.
                local ok, kind, data, queue = pcall(store, a, task, key)
                if not ok then
                    kind, data, queue = 'error', type(kind) == 'table' and kind.err or tostring(kind), false
                end
                if queue then ready[#ready + 1] = ARGV[a] end
                replies[#replies + 1] = kind
                replies[#replies + 1] = data
            end
            if #ready > 0 then redis.call('LPUSH', KEYS[1], unpack(ready)) end
            publish()
            return replies
            """)
}

import TaskgateRedis

/// The Lua scripts behind every multi-key state change. Each takes its clock from Redis `TIME`, so every host
/// agrees on time, and touches the keys of one queue only, all under its `{queue}` hash tag, so a Redis
/// Cluster runs it on one slot. All name their keys in KEYS[] except `claim`, which cannot know the ids it
/// will move beforehand and derives their task keys (same tag, same slot) from a prefix it is given.
///
/// Scripts that report on a claimed attempt (completeMany, fail, requeue, extend) first check that the task is
/// active and that its `token` is the caller's; otherwise they change nothing, so a worker whose lease expired
/// and whose task was recovered cannot touch a record that another attempt now owns.
enum TaskScripts {
    static let now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        """

    /// The guard shared by the scripts that report on an attempt: KEYS[1] is the task, ARGV[2] the token.
    static let holdsLease = """

        local function holds_lease()
            local held = redis.call('HMGET', KEYS[1], 'state', 'token')
            return held[1] == 'active' and held[2] == ARGV[2]
        end
        """

    /// KEYS: pending, scheduled, then for each task its task key and, when it has one, its idempotency key.
    /// ARGV: seven per task: id, type, payload, max_retries, timeout_ms, delay_ms, window_ms (`0` when the
    /// task has no idempotency key).
    ///
    /// Stores any number of tasks of one queue in one call; the gateway sends every request waiting at once,
    /// so Redis pays a script call per batch rather than per task. Tasks are handled in order, each as the
    /// only one would be, and the ready ones are pushed in one LPUSH at the end, in that order.
    ///
    /// Returns `{now, kind(1), data(1), kind(2), data(2), ...}`. A kind is `'created'` (data empty: the caller
    /// knows the record it sent); `'existing'` with the record when the id exists already (a call repeated
    /// after a broken connection; nothing is written); with an idempotency key that is held already,
    /// `'replayed'` with the held id when the earlier request had the same content, or `'conflict'` with it
    /// when it did not (nothing is written); `'error'` with Redis' message when a command failed for this
    /// task (it is not queued; the other tasks of the call are not affected).
    static let enqueue = RedisScript(
        now + """

            local function field(value) return string.len(value) .. ':' .. value end
            -- One task, as if it were alone; returns its kind and data, and whether it is ready to push.
            local function store(a, task, key)
                local id, task_type, payload, max_retries = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
                local timeout, delay, window = ARGV[a + 4], tonumber(ARGV[a + 5]), ARGV[a + 6]
                local fingerprint = nil
                if key then
                    fingerprint = redis.sha1hex(field(task_type) .. field(payload) .. field(max_retries)
                        .. field(timeout) .. field(ARGV[a + 5]))
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
                    'max_retries', max_retries, 'created_at', now}
                if run_at ~= now then
                    fields[#fields + 1] = 'run_at'
                    fields[#fields + 1] = run_at
                end
                if timeout ~= '' then
                    fields[#fields + 1] = 'timeout'
                    fields[#fields + 1] = timeout
                end
                redis.call('HSET', task, unpack(fields))
                if state == 'scheduled' then
                    redis.call('ZADD', KEYS[2], run_at, id)
                    return 'created', '', false
                end
                return 'created', '', true
            end
            local replies, ready, k = {now}, {}, 3
            for a = 1, #ARGV, 7 do
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
            return replies
            """)

    /// KEYS: task, active, leases, unleased. ARGV: id, token, lease_ms.
    ///
    /// Marks a task that `BLMOVE` just moved to the active list active under a fresh token and lease, and takes
    /// it off the active list: from here on its lease says who holds it. The active list thus only ever holds
    /// ids between those two steps, where a crash would leave them unleased (recovery's second case). An id
    /// whose record is gone (expired) or not pending (a stray duplicate of a task that already ran) is only
    /// dropped from the active list.
    static let start = RedisScript(
        now + """

            redis.call('HDEL', KEYS[4], ARGV[1])
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return false end
            redis.call('HSET', KEYS[1], 'state', 'active', 'token', ARGV[2], 'started_at', now, 'updated_at', now)
            redis.call('HINCRBY', KEYS[1], 'attempts', 1)
            redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
            return redis.call('HGETALL', KEYS[1])
            """)

    /// What a claim hands back per task, in order: the id, the new attempt count, the start time, then the
    /// fields it read (``claimedFields``).
    static let claimReplyFields = ["id", "attempts", "started_at"] + claimedFields

    /// The fields a claim reads and hands back as they are; the script's `HMGET` is written from this list.
    private static let claimedFields = [
        "type", "payload", "retries", "max_retries", "timeout", "created_at", "run_at", "last_error",
    ]
    private static let claimReadFields = claimedFields.map { "'\($0)'" }.joined(separator: ", ")

    /// KEYS: pending, active, leases, unleased, dead. ARGV: lease_ms, id_prefix (`<queue>.`), task_key_prefix
    /// (`<prefix>:{<queue>}:task:`), token(1), ..., token(n).
    ///
    /// Claims up to n pending tasks without blocking: pops them off the pending list and starts each under its
    /// token and a lease, in one step, so no crash can leave a task claimed without a lease; the leases set
    /// alone then records who holds it (the active list only covers the blocking path, see `start`). Ids
    /// that are not this queue's, or whose record is gone or not pending, are dropped on the way (at most 100
    /// per call); an id whose record cannot be read at all (a key of the wrong type) goes to the dead set.
    /// Returns one reply per task claimed (fewer than n when the queue runs dry), the fields a
    /// worker needs, in ``claimReplyFields`` order (a missing field is `''`). Task keys are derived from the
    /// ids; they share the queue's hash tag, so the script touches one slot.
    ///
    /// Redis charges a few microseconds for every `redis.call` and for every value passed between Lua and
    /// Redis, so the work per task is two calls (read what the worker needs, write the new state) and a short
    /// reply; the pop, the leases and the unleased notes take one call per batch. (Reading the whole record
    /// and sending it back cost about 17 us per task against 13 us for this, measured alone.)
    static let claim = RedisScript(
        now + """

            local claimed, leased, started, strays = {}, {}, {}, 0
            local wanted = #ARGV - 3
            local prefix, prefix_length = ARGV[2], string.len(ARGV[2])
            local deadline = now + tonumber(ARGV[1])
            -- Starts one popped id; returns its reply, or nil for an id to drop (not this queue's, record
            -- gone, or not pending: a stray duplicate of a task that already ran).
            local function start(id, attempt_token)
                local token = string.sub(id, prefix_length + 1)
                if string.sub(id, 1, prefix_length) ~= prefix or string.len(token) ~= 32
                    or string.find(token, '[^0-9a-f]') then
                    return nil
                end
                local values = redis.call('HMGET', ARGV[3] .. token, 'state', 'attempts', \(claimReadFields))
                if values[1] ~= 'pending' then return nil end
                local attempts = tonumber(values[2] or '0') + 1
                redis.call('HSET', ARGV[3] .. token, 'state', 'active', 'token', attempt_token,
                    'started_at', now, 'updated_at', now, 'attempts', attempts)
                local reply = {id, attempts, now}
                for f = 3, #values do reply[f + 1] = values[f] or '' end
                return reply
            end
            while #claimed < wanted and strays < 100 do
                local asked = wanted - #claimed
                local ids = redis.call('RPOP', KEYS[1], asked)
                if not ids then break end
                for _, id in ipairs(ids) do
                    -- The ids are off the pending list now, so nothing may abort the script before each is
                    -- leased or put somewhere: an id whose record cannot be read or written (a key of the
                    -- wrong type, say) goes to the dead set, where an operator sees it.
                    local ok, reply = pcall(start, id, ARGV[4 + #claimed])
                    if ok and reply then
                        claimed[#claimed + 1] = reply
                        leased[#leased + 1] = deadline
                        leased[#leased + 1] = id
                        started[#started + 1] = id
                    else
                        if not ok then redis.pcall('ZADD', KEYS[5], now, id) end
                        strays = strays + 1
                    end
                end
                if #ids < asked then break end
            end
            if #started > 0 then
                redis.call('ZADD', KEYS[3], unpack(leased))
                redis.call('HDEL', KEYS[4], unpack(started))
            end
            return claimed
            """)

    /// KEYS: leases, task(1), ..., task(n). ARGV: lease_ms, id(1), token(1), ..., id(n), token(n).
    /// Pushes back the deadline of each lease still held; returns 1 per lease extended, 0 per lease lost.
    static let extend = RedisScript(
        now + """

            local held = {}
            for i = 2, #KEYS do
                local id, token = ARGV[2 * i - 2], ARGV[2 * i - 1]
                local record = redis.call('HMGET', KEYS[i], 'state', 'token')
                if record[1] == 'active' and record[2] == token and redis.call('ZSCORE', KEYS[1], id) then
                    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
                    held[#held + 1] = 1
                else
                    held[#held + 1] = 0
                end
            end
            return held
            """)

    /// KEYS: active, leases, task(1), ..., task(n). ARGV: retention_ms, then id, token, result for each task.
    /// Completes held tasks, one or many in one call (a single completion is a call of one); returns per task
    /// 1, 0 when the caller does not hold it (nothing is changed then), or Redis' error message when a command
    /// failed for that task alone.
    ///
    /// Three calls per task (check, write, expire); the leases go in one call per batch. A held task is never
    /// on the active list (see `start`), so that is only searched when it exists at all (ids a worker of an
    /// earlier version started). The last attempt's token stays on the finished record: every report checks
    /// `state == 'active'` first, so it grants nothing, and leaving it saves a call per task.
    static let completeMany = RedisScript(
        now + """

            local done, finished = {}, {}
            local search_active = redis.call('EXISTS', KEYS[1]) == 1
            local function complete_one(i)
                local base = 3 * (i - 3) + 2
                local id, token = ARGV[base], ARGV[base + 1]
                local held = redis.call('HMGET', KEYS[i], 'state', 'token')
                if held[1] ~= 'active' or held[2] ~= token then return 0 end
                if search_active then redis.call('LREM', KEYS[1], 1, id) end
                redis.call('HSET', KEYS[i], 'state', 'succeeded', 'result', ARGV[base + 2], 'finished_at', now,
                    'updated_at', now)
                redis.call('PEXPIRE', KEYS[i], ARGV[1])
                finished[#finished + 1] = id
                return 1
            end
            for i = 3, #KEYS do
                -- A task whose commands fail (a key of the wrong type, say) reports its error alone.
                local ok, result = pcall(complete_one, i)
                if ok then
                    done[#done + 1] = result
                else
                    done[#done + 1] = type(result) == 'table' and result.err or tostring(result)
                end
            end
            if #finished > 0 then redis.call('ZREM', KEYS[2], unpack(finished)) end
            return done
            """)

    /// The failed-attempt step shared by `fail` and `recover`. KEYS[1] is the task, `scheduled_key` receives a
    /// retry after `backoff` ms (nil: push straight onto `pending_key`), `dead_key` the dead-lettered id.
    static let recordFailure = """

        local function record_failure(id, message, backoff, retention, pending_key, scheduled_key, dead_key)
            local record = redis.call('HMGET', KEYS[1], 'retries', 'max_retries')
            local retries, max_retries = tonumber(record[1] or '0'), tonumber(record[2])
            redis.call('HDEL', KEYS[1], 'token')
            if retries < max_retries then
                retries = retries + 1
                local run_at = now + backoff
                if scheduled_key then
                    redis.call('HSET', KEYS[1], 'state', 'retrying', 'retries', retries, 'last_error', message,
                        'run_at', run_at, 'updated_at', now)
                    redis.call('ZADD', scheduled_key, run_at, id)
                else
                    redis.call('HSET', KEYS[1], 'state', 'pending', 'retries', retries, 'last_error', message,
                        'run_at', run_at, 'updated_at', now)
                    redis.call('RPUSH', pending_key, id)
                end
                return {1, retries, run_at}
            end
            redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', message, 'finished_at', now, 'updated_at', now)
            redis.call('PEXPIRE', KEYS[1], retention)
            redis.call('ZADD', dead_key, now, id)
            redis.call('ZREMRANGEBYSCORE', dead_key, '-inf', now - tonumber(retention))
            return {2, retries}
        end
        """

    /// KEYS: task, active, scheduled, dead, leases. ARGV: id, token, error, backoff_ms, retention_ms.
    /// Returns {1, retries, run_at} when scheduled again, {2, retries} when dead, {0} when the caller does not
    /// hold the task (nothing is changed then).
    static let fail = RedisScript(
        now + holdsLease + recordFailure + """

            if not holds_lease() then return {0} end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            redis.call('ZREM', KEYS[5], ARGV[1])
            return record_failure(ARGV[1], ARGV[3], tonumber(ARGV[4]), ARGV[5], nil, KEYS[3], KEYS[4])
            """)

    /// KEYS: task, active, pending, leases. ARGV: id, token. Puts a held task back where the next claim takes
    /// it, retries unchanged (used when a worker stops). Returns 1, or 0 when the caller does not hold the task.
    static let requeue = RedisScript(
        now + holdsLease + """

            if not holds_lease() then return 0 end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            redis.call('ZREM', KEYS[4], ARGV[1])
            redis.call('HDEL', KEYS[1], 'token')
            redis.call('RPUSH', KEYS[3], ARGV[1])
            redis.call('HSET', KEYS[1], 'state', 'pending', 'updated_at', now)
            return 1
            """)

    /// KEYS: task, active, pending, dead, leases, unleased. ARGV: id, retention_ms, grace_ms.
    ///
    /// Recovers one id that a recovery pass suspects, re-checking everything first (many workers run passes):
    /// - its lease expired: the attempt counts as failed (`last_error` says the worker was lost); the task goes
    ///   straight back to pending, or to the dead-letter set when its retries are used up;
    /// - it sits in the active list with no lease: the first pass to see it notes the time; once `grace_ms` have
    ///   passed and it still has none (its worker died between claim and lease), it goes back to pending as it
    ///   was, since no attempt started;
    /// - it sits in the active list but its record is finished, waiting or gone: the stray id is removed.
    /// Returns 0 (nothing to do), 1 (retried), 2 (dead-lettered), 3 (put back unclaimed), 4 (stray dropped).
    static let recover = RedisScript(
        now + recordFailure + """

            local function lost_attempt()
                local attempts = redis.call('HGET', KEYS[1], 'attempts') or '?'
                local message = 'worker lost: attempt ' .. attempts .. ' stopped reporting and its lease expired'
                local outcome = record_failure(ARGV[1], message, 0, ARGV[2], KEYS[3], nil, KEYS[4])
                return outcome[1]
            end
            local deadline = redis.call('ZSCORE', KEYS[5], ARGV[1])
            if deadline then
                if tonumber(deadline) > now then return 0 end
                redis.call('ZREM', KEYS[5], ARGV[1])
                redis.call('HDEL', KEYS[6], ARGV[1])
                redis.call('LREM', KEYS[2], 1, ARGV[1])
                if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 4 end
                return lost_attempt()
            end
            if not redis.call('LPOS', KEYS[2], ARGV[1]) then
                redis.call('HDEL', KEYS[6], ARGV[1])
                return 0
            end
            local state = redis.call('HGET', KEYS[1], 'state')
            if state ~= 'pending' and state ~= 'active' then
                redis.call('LREM', KEYS[2], 0, ARGV[1])
                redis.call('HDEL', KEYS[6], ARGV[1])
                return 4
            end
            local seen = redis.call('HGET', KEYS[6], ARGV[1])
            if not seen then
                redis.call('HSET', KEYS[6], ARGV[1], now)
                return 0
            end
            if now - tonumber(seen) < tonumber(ARGV[3]) then return 0 end
            redis.call('HDEL', KEYS[6], ARGV[1])
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            if state == 'active' then return lost_attempt() end
            redis.call('RPUSH', KEYS[3], ARGV[1])
            redis.call('HSET', KEYS[1], 'updated_at', now)
            return 3
            """)

    /// KEYS: scheduled, pending, task(1), ..., task(n). ARGV: id(1), ..., id(n).
    /// Moves each id that is still scheduled and due; returns how many moved.
    static let promote = RedisScript(
        now + """

            local moved = 0
            for i, id in ipairs(ARGV) do
                local score = redis.call('ZSCORE', KEYS[1], id)
                if score and tonumber(score) <= now then
                    redis.call('ZREM', KEYS[1], id)
                    if redis.call('EXISTS', KEYS[i + 2]) == 1 then
                        redis.call('HSET', KEYS[i + 2], 'state', 'pending', 'updated_at', now)
                        redis.call('LPUSH', KEYS[2], id)
                        moved = moved + 1
                    end
                end
            end
            return moved
            """)
}

import TaskgateRedis

extension TaskScripts {
    /// What a claim hands back per task, in order: the id, the new attempt count, the start time, the new
    /// event number, then the fields it read (``claimedFields``).
    static let claimReplyFields = ["id", "attempts", "started_at", "seq"] + claimedFields

    /// The fields a claim reads and hands back as they are; the script's `HMGET` is written from this list.
    private static let claimedFields = [
        "type", "payload", "retries", "max_retries", "timeout", "created_at", "run_at", "last_error", "callback",
        // A child's parents: only a task with them needs its parents' outcomes read (``RedisTaskStore/parents(of:)``).
        "after",
    ]
    private static let claimReadFields = claimedFields.map { "'\($0)'" }.joined(separator: ", ")
    /// Where a field of ``claimedFields`` sits in the script's `HMGET` reply (after state, attempts and seq).
    private static func readIndex(_ field: String) -> Int { 4 + claimedFields.firstIndex(of: field)! }

    /// KEYS: pending, active, leases, unleased, dead, control. ARGV: lease_ms, id_prefix (`<queue>.`), task_key_prefix
    /// (`<prefix>:{<queue>}:task:`), event channel, token(1), ..., token(n).
    ///
    /// Claims up to n pending tasks without blocking: takes them off the pending list (reading them first, then
    /// popping those dealt with) and starts each under its token and a lease, in one step, so no crash can leave a task claimed without a lease; the leases set
    /// alone then records who holds it (the active list only covers the blocking path, see `start`). Ids
    /// that are not this queue's, or whose record is gone or not pending, are dropped on the way (at most 100
    /// per call); an id whose record cannot be read at all (a key of the wrong type) goes to the dead set.
    /// The queue's control hash decides first how many may start (see ``admission``): a paused queue, or one
    /// at its `max_active` or out of rate tokens, pops nothing and returns `{'held', why, retry_ms or -1}`.
    /// Otherwise returns one reply per task claimed (fewer than n when the queue runs dry), the fields a
    /// worker needs, in ``claimReplyFields`` order (a missing field is `''`). Task keys are derived from the
    /// ids; they share the queue's hash tag, so the script touches one slot; while a Redis Cluster moves that
    /// slot, a record that went already fails to read ("non local key"), and its id and those after it stay on
    /// the list, not dropped (see ``RedisScript/derivesKeys``); nothing was written for them. Publishes one `active` event per task claimed, all in one message.
    ///
    /// Redis charges a few microseconds for every `redis.call` and for every value passed between Lua and
    /// Redis, so the work per task is two calls (read what the worker needs, write the new state) and a short
    /// reply; the pop, the leases, the unleased notes and the events take one call per batch. (Reading the
    /// whole record and sending it back cost about 17 us per task against 13 us for this, measured alone.)
    static let claim = RedisScript(
        now + events(channel: "ARGV[4]") + admission + """

            local claimed, leased, started, strays, moving = {}, {}, {}, 0, false
            local wanted, held, retry_ms = admit(KEYS[6], KEYS[3], KEYS[2], #ARGV - 4)
            if wanted == 0 then return {'held', held, retry_ms or -1} end
            local prefix, prefix_length = ARGV[2], string.len(ARGV[2])
            local deadline = int_text(now + tonumber(ARGV[1]))
            -- Starts one id; returns its reply, or nil for an id to drop (not this queue's, record
            -- gone, or not pending: a stray duplicate of a task that already ran).
            local function start(id, attempt_token)
                local token = string.sub(id, prefix_length + 1)
                if string.sub(id, 1, prefix_length) ~= prefix or string.len(token) ~= 32
                    or string.find(token, '[^0-9a-f]') then
                    return nil
                end
                local values = redis.call('HMGET', ARGV[3] .. token, 'state', 'attempts', 'seq',
                    \(claimReadFields))
                if values[1] ~= 'pending' then return nil end
                local attempts, seq = tonumber(values[2] or '0') + 1, tonumber(values[3] or '0') + 1
                redis.call('HSET', ARGV[3] .. token, 'state', 'active', 'token', attempt_token,
                    'started_at', now_text, 'updated_at', now_text, 'attempts', int_text(attempts), 'seq', int_text(seq))
                event(id, 'active', 'active', values[\(readIndex("type"))], attempts,
                    values[\(readIndex("retries"))], seq)
                local reply = {id, attempts, now, seq}
                for f = 4, #values do reply[f + 1] = values[f] or '' end
                return reply
            end
            while #claimed < wanted and strays < 100 do
                local asked = wanted - #claimed
                -- Read the ids first and take off the list only those dealt with: should a record fail to read
                -- (below), the ids not dealt with stay exactly where they were.
                local ids = redis.call('LRANGE', KEYS[1], -asked, -1)
                local taken = 0
                -- Asked before the first write (it reads the channel), so nothing can fail after one.
                if #ids > 0 then listening() end
                for i = #ids, 1, -1 do
                    local id = ids[i]
                    -- An id whose record cannot be read or written (a key of the wrong type, say) goes to the
                    -- dead set, where an operator sees it.
                    local ok, reply = pcall(start, id, ARGV[5 + #claimed])
                    if not ok and string.find(tostring(reply), 'non local key', 1, true) then
                        -- Redis Cluster is moving the queue's slot to another node and this record went
                        -- already: leave this id and the rest on the list and claim no more until the move is
                        -- over (the caller tries again).
                        moving = true
                        break
                    end
                    taken = taken + 1
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
                if taken > 0 then redis.call('RPOP', KEYS[1], taken) end
                if moving or #ids < asked then break end
            end
            if #started > 0 then
                redis.call('ZADD', KEYS[3], unpack(leased))
                redis.call('HDEL', KEYS[4], unpack(started))
            end
            spend(KEYS[6], #started)
            publish()
            return claimed
            """, derivesKeys: true)
}

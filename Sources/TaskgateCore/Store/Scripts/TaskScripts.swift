import TaskgateRedis

/// The Lua scripts behind every multi-key state change, one per file (`TaskScripts+<Name>.swift`), and the
/// fragments they share.
///
/// Each takes its clock from Redis `TIME`, so every host agrees on time, and touches the keys of one queue
/// only, all under its `{queue}` hash tag, so a Redis Cluster runs it on one slot. All name their keys in
/// KEYS[] except `claim`, `claimCallbacks` and `requeueDead`, which cannot know the ids they will move
/// beforehand and derive their task keys (same tag, same slot) from a prefix they are given.
///
/// Scripts that report on a claimed attempt (completeMany, fail, requeue, extend) first check that the task is
/// active and that its `token` is the caller's; otherwise they change nothing, so a worker whose lease expired
/// and whose task was recovered cannot touch a record that another attempt now owns.
///
/// Every script that changes a task's state publishes the change on the queue's event channel
/// (``KeySpace/events(_:)``) in the same step: one message per call, one compact JSON event per line, in the
/// order the changes were made (see ``TaskEvent`` for the format). The channel is the last ARGV of every
/// script but `enqueue` and `promote`, where it is the first.
enum TaskScripts {
    /// The command that publishes events; `PUBLISH` would make them classic pub/sub (seen on every node of
    /// a Cluster) instead of sharded pub/sub (kept on the queue's node). ``EventSubscription`` follows it.
    static let publishCommand = EventChannelMode.current.publishCommand

    /// `now`, Redis' time in ms, and `now_text`, the same as a string. A Lua number handed to `redis.call` is
    /// turned into text by Redis through printf's floating-point path (about 0.4 us each, 10% of Redis' time
    /// in a worker's claims and completions); hot paths pass `now_text`, and `int_text(n)` for other numbers
    /// (`%d`, a third of the cost).
    static let now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local now_text = string.format('%d', now)
        local function int_text(n) return string.format('%d', n) end
        """

    /// `event(id, kind, state, type, attempt, retries, seq, extra)` queues one event of the call;
    /// `publish()` sends them all in one message on `channel` (a Lua expression: the ARGV that holds it), and
    /// nothing when there are none. `extra` is more JSON members, each starting with a comma. The queue is the
    /// id without its 33-character `.<token>` tail.
    ///
    /// The first event of a call asks Redis whether the channel has a subscriber at all (`PUBSUB
    /// SHARDNUMSUB`, one call per script); when none listens, no event is built or published, so events cost
    /// the hot path next to nothing until someone subscribes. Pub/sub delivers to those subscribed when the
    /// message is published and to no one else, so skipping it then changes nothing anyone can see.
    static func events(channel: String) -> String {
        """

        local events_channel, events, listened = \(channel), {}, nil
        -- One string.format per event: about half the cost of the same text joined with `..` (measured in
        -- Redis: 2.1 against 2.7 to 4.2 us an event).
        local format, find = string.format, string.find
        local event_format = '{"id":"%s","queue":"%s","type":%s,"event":"%s","state":"%s","attempt":%d,'
            .. '"retries":%d,"seq":%d,"at":%d%s}'
        -- Whether anyone is subscribed, asked once per call; a script may skip reading what only events need.
        local function listening()
            if listened == nil then
                listened = redis.call('PUBSUB', '\(EventChannelMode.current.countSubcommand)', events_channel)[2] > 0
            end
            return listened
        end
        local function event(id, kind, state, task_type, attempt, retries, seq, extra)
            if not listening() then return end
            local type_json = 'null'
            if task_type and task_type ~= '' then
                -- Types the gateway accepts need no escaping; cjson would escape their slashes.
                if not find(task_type, '[^%w%.:/_%-]') then type_json = '"' .. task_type .. '"'
                else type_json = cjson.encode(task_type) end
            end
            events[#events + 1] = format(event_format, id, string.sub(id, 1, -34), type_json, kind, state,
                tonumber(attempt) or 0, tonumber(retries) or 0, tonumber(seq) or 0, now, extra or '')
        end
        local function publish()
            if #events > 0 then
                redis.call('\(publishCommand)', events_channel, table.concat(events, '\\n'))
            end
        end
        """
    }

    /// The guard shared by the scripts that report on an attempt: KEYS[1] is the task, ARGV[2] the token.
    static let holdsLease = """

        local function holds_lease()
            local held = redis.call('HMGET', KEYS[1], 'state', 'token')
            return held[1] == 'active' and held[2] == ARGV[2]
        end
        """

    /// What a task entering a final state does about its `callback_url`: with one, the record is kept (no
    /// expiry) and its delivery is due now on `callbacks_key`; without, the record expires after `retention`.
    /// A task that is `linked` (it has children or a batch: its `kids` or `batch` field is set) goes on the
    /// queue's outbox (`outbox_key`) to have them told, and is kept until a drainer has (which then starts its
    /// retention; see ``WorkflowReleaser``). Returns whether a delivery was made due.
    static let finish = """

        local function finish(task, id, callback, retention, callbacks_key, linked, outbox_key)
            if linked then redis.call('ZADD', outbox_key, now, id) end
            if callback and callback ~= '' then
                redis.call('HSET', task, 'callback_state', 'pending')
                redis.call('ZADD', callbacks_key, now, id)
                return true
            end
            if not linked then redis.call('PEXPIRE', task, retention) end
            return false
        end
        """

    /// The failed-attempt step shared by `fail` and `recover`. KEYS[1] is the task, `retry_key` receives a
    /// retry after `backoff` ms (nil: push straight onto `pending_key`, a recovery), `dead_key` the
    /// dead-lettered id; `kind` names the event of a retry. Counts the failed attempt on `stats_key`; a dead
    /// task with children or a batch goes on `outbox_key`. Needs `events`, `finish` and `countOutcome`.
    static let recordFailure = """

        local function record_failure(id, message, backoff, retention, pending_key, retry_key, dead_key,
                callbacks_key, kind, stats_key, outbox_key)
            count_outcome(stats_key, 'f', 1)
            local record = redis.call('HMGET', KEYS[1], 'retries', 'max_retries', 'type', 'attempts', 'seq',
                'callback', 'kids', 'batch')
            local retries, max_retries = tonumber(record[1] or '0'), tonumber(record[2])
            local seq = tonumber(record[5] or '0') + 1
            local failure = ',"error":' .. cjson.encode(message)
            redis.call('HDEL', KEYS[1], 'token')
            if retries < max_retries then
                retries = retries + 1
                local run_at = now + backoff
                local state = 'retrying'
                if retry_key then
                    redis.call('ZADD', retry_key, run_at, id)
                else
                    state = 'pending'
                    redis.call('RPUSH', pending_key, id)
                end
                redis.call('HSET', KEYS[1], 'state', state, 'retries', retries, 'last_error', message,
                    'run_at', run_at, 'updated_at', now, 'seq', seq)
                event(id, kind, state, record[3], record[4], retries, seq, ',"run_at":' .. run_at .. failure)
                return {1, retries, run_at}
            end
            redis.call('HSET', KEYS[1], 'state', 'dead', 'last_error', message, 'finished_at', now,
                'updated_at', now, 'seq', seq)
            finish(KEYS[1], id, record[6], retention, callbacks_key, record[7] or record[8], outbox_key)
            redis.call('ZADD', dead_key, now, id)
            redis.call('ZREMRANGEBYSCORE', dead_key, '-inf', now - tonumber(retention))
            event(id, 'dead', 'dead', record[3], record[4], retries, seq, failure)
            return {2, retries}
        end
        """

    /// `count_outcome(stats_key, kind, n)` adds `n` finished attempts of `kind` (`s` succeeded, `f` failed) to
    /// the queue's counts: the current minute's and hour's buckets and the running total, in one `HMGET` and
    /// one `HSET`. Buckets are rings (62 minutes, 26 hours) whose slots carry the bucket number they count
    /// (`<slot>@`), so a slot left from an earlier lap reads as zero and is overwritten, never summed.
    /// ``QueueStatistics`` reads them back.
    static let countOutcome = """

        local function count_outcome(stats_key, kind, n)
            local minute, hour = math.floor(now / 60000), math.floor(now / 3600000)
            local m, h, total = kind .. ':m:' .. (minute % 62), kind .. ':h:' .. (hour % 26), kind .. ':total'
            local held = redis.call('HMGET', stats_key, m, m .. '@', h, h .. '@', total)
            local in_minute, in_hour = n, n
            if tonumber(held[2]) == minute then in_minute = in_minute + tonumber(held[1] or '0') end
            if tonumber(held[4]) == hour then in_hour = in_hour + tonumber(held[3] or '0') end
            redis.call('HSET', stats_key, m, in_minute, m .. '@', minute, h, in_hour, h .. '@', hour, total,
                tonumber(held[5] or '0') + n)
        end
        """

    /// `admit(control_key, leases_key, active_key, wanted)`: how many tasks a claim may start now, from the
    /// queue's `control` hash (one `HMGET` when no setting is made, the common case). Returns `wanted`, or
    /// fewer under a limit, or 0 with why (`paused`, `max_active`, `rate_limited`) and, for a rate limit, the
    /// milliseconds until the next token. `spend(control_key, n)` then takes the `n` tokens the claim used
    /// (nothing to do without a rate). Running tasks are those leased plus those a blocking claim holds
    /// between its two steps (`active`). The token bucket refills at `max_per_second` up to `burst` (default:
    /// one second's worth, at least 1), so over any span of t seconds at most `burst + t * max_per_second`
    /// tasks start, by Redis' clock, whatever the number of workers.
    static let admission = """

        local bucket_tokens = nil
        local function admit(control_key, leases_key, active_key, wanted)
            local c = redis.call('HMGET', control_key, 'paused', 'max_per_second', 'max_active', 'burst', 'tokens',
                'tokens_at')
            if not (c[1] or c[2] or c[3]) then return wanted end
            if c[1] then return 0, 'paused' end
            local allowed = wanted
            if c[3] then
                local running = redis.call('ZCARD', leases_key) + redis.call('LLEN', active_key)
                allowed = math.min(allowed, tonumber(c[3]) - running)
                if allowed <= 0 then return 0, 'max_active' end
            end
            if c[2] then
                local rate = tonumber(c[2])
                local burst = tonumber(c[4]) or math.max(1, math.floor(rate))
                local tokens = burst
                if c[5] and c[6] then
                    tokens = math.min(burst, tonumber(c[5]) + math.max(0, now - tonumber(c[6])) * rate / 1000)
                end
                if tokens < 1 then return 0, 'rate_limited', math.ceil((1 - tokens) * 1000 / rate) end
                allowed = math.min(allowed, math.floor(tokens))
                bucket_tokens = tokens
            end
            return allowed
        end
        local function spend(control_key, n)
            if bucket_tokens and n > 0 then
                redis.call('HSET', control_key, 'tokens', string.format('%.6f', bucket_tokens - n), 'tokens_at', now)
            end
        end
        """
}

import TaskgateRedis

extension TaskScripts {
    /// KEYS: task, callbacks, callbacks_dead, released (the outbox). ARGV: id, try, outcome (`delivered`, `retry` or `dead`), status
    /// (the receiver's HTTP status, `0` for none), error (`''` for none), delay_ms (for `retry`), retention_ms,
    /// event channel.
    ///
    /// Records how one try of a callback delivery went, if that try still holds the delivery (the try counter
    /// is unchanged and the delivery pending; else returns 0 and changes nothing: its lease ran out and a
    /// later try took over). `delivered` and `dead` end the delivery and start the record's retention; `dead`
    /// also puts the id on the dead callbacks set (trimmed to the retention time) where an operator finds it;
    /// `retry` makes it due again after `delay_ms`. A record still on the outbox is left for the drainer to
    /// expire, once its children and batch are told. Publishes `callback_delivered`, `callback_retrying` or
    /// `callback_dead` (the task's state is unchanged). Returns 1.
    static let finishCallback = RedisScript(
        now + events(channel: "ARGV[8]") + """

            local held = redis.call('HMGET', KEYS[1], 'callback_state', 'callback_tries', 'state', 'type', 'attempts',
                'retries', 'seq')
            if held[1] ~= 'pending' or held[2] ~= ARGV[2] then return 0 end
            local seq = tonumber(held[7] or '0') + 1
            local outcome, status, message = ARGV[3], tonumber(ARGV[4]), ARGV[5]
            local fields = {'callback_status', status, 'seq', seq}
            local status_json = 'null'
            if status ~= 0 then status_json = tostring(status) end
            local extra = ',"callback_status":' .. status_json .. ',"callback_tries":' .. ARGV[2]
            if message ~= '' then
                fields[#fields + 1] = 'callback_error'
                fields[#fields + 1] = message
                extra = extra .. ',"error":' .. cjson.encode(message)
            else
                redis.call('HDEL', KEYS[1], 'callback_error')
            end
            local kind = 'callback_retrying'
            if outcome == 'retry' then
                local due = now + tonumber(ARGV[6])
                redis.call('ZADD', KEYS[2], due, ARGV[1])
                extra = extra .. ',"run_at":' .. due
            else
                redis.call('ZREM', KEYS[2], ARGV[1])
                fields[#fields + 1] = 'callback_state'
                fields[#fields + 1] = outcome
                fields[#fields + 1] = 'callback_at'
                fields[#fields + 1] = now
                kind = 'callback_' .. outcome
                if outcome == 'dead' then
                    redis.call('ZADD', KEYS[3], now, ARGV[1])
                    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[7]))
                end
                if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[7]) end
            end
            redis.call('HSET', KEYS[1], unpack(fields))
            event(ARGV[1], kind, held[3], held[4], held[5], held[6], seq, extra)
            publish()
            return 1
            """)
}

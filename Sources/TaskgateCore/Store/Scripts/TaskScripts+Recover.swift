import TaskgateRedis

extension TaskScripts {
    /// KEYS: task, active, pending, dead, leases, unleased, callbacks, stats, released (the outbox). ARGV: id, retention_ms, grace_ms, event
    /// channel.
    ///
    /// Recovers one id that a recovery pass suspects, re-checking everything first (many workers run passes):
    /// - its lease expired: the attempt counts as failed (`last_error` says the worker was lost); the task goes
    ///   straight back to pending (publishes `recovered`), or to the dead-letter set when its retries are used
    ///   up (publishes `dead`);
    /// - it sits in the active list with no lease: the first pass to see it notes the time; once `grace_ms` have
    ///   passed and it still has none (its worker died between claim and lease), it goes back to pending as it
    ///   was, since no attempt started (publishes `recovered`);
    /// - it sits in the active list but its record is finished, waiting or gone: the stray id is removed.
    /// Returns 0 (nothing to do), 1 (retried), 2 (dead-lettered), 3 (put back unclaimed), 4 (stray dropped).
    static let recover = RedisScript(
        now + events(channel: "ARGV[4]") + finish + countOutcome + recordFailure + """

            local function lost_attempt()
                local attempts = redis.call('HGET', KEYS[1], 'attempts') or '?'
                local message = 'worker lost: attempt ' .. attempts .. ' stopped reporting and its lease expired'
                local outcome = record_failure(ARGV[1], message, 0, ARGV[2], KEYS[3], nil, KEYS[4], KEYS[7],
                    'recovered', KEYS[8], KEYS[9])
                publish()
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
            local record = redis.call('HMGET', KEYS[1], 'type', 'attempts', 'retries', 'seq')
            local seq = tonumber(record[4] or '0') + 1
            redis.call('HSET', KEYS[1], 'updated_at', now, 'seq', seq)
            event(ARGV[1], 'recovered', 'pending', record[1], record[2], record[3], seq)
            publish()
            return 3
            """)
}

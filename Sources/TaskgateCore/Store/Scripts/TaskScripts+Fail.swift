import TaskgateRedis

extension TaskScripts {
    /// KEYS: task, active, retrying, dead, leases, callbacks, stats, released (the outbox). ARGV: id, token, error, backoff_ms, retention_ms,
    /// event channel. Returns {1, retries, run_at} when scheduled again (publishes `retrying`), {2, retries}
    /// when dead (publishes `dead`; a callback is then due), {0} when the caller does not hold the task
    /// (nothing is changed then). Counts a failed attempt.
    static let fail = RedisScript(
        now + events(channel: "ARGV[6]") + holdsLease + finish + countOutcome + recordFailure + """

            if not holds_lease() then return {0} end
            redis.call('LREM', KEYS[2], 1, ARGV[1])
            redis.call('ZREM', KEYS[5], ARGV[1])
            local outcome = record_failure(ARGV[1], ARGV[3], tonumber(ARGV[4]), ARGV[5], nil, KEYS[3], KEYS[4],
                KEYS[6], 'retrying', KEYS[7], KEYS[8])
            publish()
            return outcome
            """)
}

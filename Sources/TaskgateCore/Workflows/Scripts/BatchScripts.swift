import TaskgateRedis

/// The Lua scripts of batches, one per file (`BatchScripts+<Name>.swift`). Every batch key is under the one hash
/// tag `{batches}` (see ``KeySpace``), so each runs on one slot; scripts that cannot know beforehand which
/// batches they touch (claims of due entries) derive the keys from a prefix they are given (same tag, same
/// slot). Time is Redis' `TIME`.
enum BatchScripts {
    /// `complete_batch(batch, id, channel, callbacks_key, released_key)`: marks a batch whose every task is
    /// final complete, once; makes its webhook due and its children's release due, and publishes
    /// `batch_completed` with its counts. Needs `now`.
    static let completeBatch = """

        local function batch_counts(batch)
            local c = redis.call('HMGET', batch, 'total', 'succeeded', 'dead', 'cancelled')
            return tonumber(c[1] or '0'), tonumber(c[2] or '0'), tonumber(c[3] or '0'), tonumber(c[4] or '0')
        end
        local function complete_batch(batch, id, channel, callbacks_key, released_key)
            local total, succeeded, dead, cancelled = batch_counts(batch)
            -- Whether it succeeded is not stored: the counts say it (``BatchRecord/allSucceeded``).
            redis.call('HSET', batch, 'complete', '1', 'completed_at', now)
            local held = redis.call('HMGET', batch, 'callback', 'kids')
            if held[1] then
                redis.call('HSET', batch, 'callback_state', 'pending', 'callback_tries', 0)
                redis.call('ZADD', callbacks_key, now, id)
            end
            if held[2] then redis.call('ZADD', released_key, now, id) end
            redis.call('\(TaskScripts.publishCommand)', channel, string.format(
                '{"batch":%s,"event":"batch_completed","succeeded":%s,"counts":{"total":%d,"succeeded":%d,'
                .. '"dead":%d,"cancelled":%d,"unfinished":0},"at":%d}', cjson.encode(id), tostring(dead + cancelled == 0),
                total, succeeded, dead, cancelled, now))
        end
        """
}

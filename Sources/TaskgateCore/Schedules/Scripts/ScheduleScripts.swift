import TaskgateRedis

/// The Lua scripts that change schedules, one per file (`ScheduleScripts+<Name>.swift`).
///
/// Every schedule key is under the one hash tag `{schedules}` (see ``KeySpace``), so each script runs on one
/// slot of a Cluster; `claim` and `commit` derive a schedule's keys from its name and a prefix they are given
/// (same tag, same slot), since they cannot know beforehand which schedules are due. Time is Redis' `TIME`.
enum ScheduleScripts {
    /// The most entries a schedule's lists of last runs and of misses keep.
    static let listLength = 20

    /// `now` and `now_text`, as in every task script.
    static let now = TaskScripts.now

    /// Runs a schedule script on a pooled connection, once more on a fresh one when that broke: each is safe to
    /// repeat. A change sets what it set; a commit repeated finds its token gone and changes nothing; a claim
    /// repeated takes other due schedules, and those the lost reply held are taken over when their claim runs out.
    static func run(
        _ script: RedisScript, on pool: RedisConnectionPool, keys: [String], arguments: [any RedisArgument]
    ) throws(TaskStoreError) -> RedisValue {
        try pool.run(script, keys: keys, arguments: arguments)
    }
}

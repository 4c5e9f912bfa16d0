/// Builds every Redis key Taskgate uses; nothing else in the code spells a key.
///
/// All keys of one queue share the hash tag `{queue}`, so a Redis Cluster keeps a queue on one node and every
/// script, which touches one queue's keys only, runs on one slot. A task id carries its queue, so the task's
/// key is found from the id alone.
///
/// - `<prefix>:{<queue>}:task:<token>`: the task's hash.
/// - `<prefix>:{<queue>}:pending`: list of ids waiting; producers LPUSH, workers take from the right.
/// - `<prefix>:{<queue>}:active`: list of ids a waiting worker moved with `BLMOVE` and has not yet started (the
///   one claim path that takes two steps); once started, a task is held by its lease alone.
/// - `<prefix>:{<queue>}:scheduled`: sorted set of delayed ids by the time they become due.
/// - `<prefix>:{<queue>}:retrying`: sorted set of ids waiting out a retry's backoff, by when it ends (kept apart
///   from `scheduled` so each depth is one `ZCARD`; tasks of versions before it retried in `scheduled`).
/// - `<prefix>:{<queue>}:dead`: sorted set of dead ids by the time they died.
/// - `<prefix>:{<queue>}:leases`: sorted set of claimed ids by the deadline of their lease: who holds what.
/// - `<prefix>:{<queue>}:unleased`: hash of active-list ids seen without a lease, to the time first seen.
/// - `<prefix>:{<queue>}:idempotency:<key>`: hash recording which task an `Idempotency-Key` created.
/// - `<prefix>:{<queue>}:callbacks`: sorted set of ids whose completion callback is to be delivered, by the time
///   the next try is due (or, while a try is under way, the end of its lease).
/// - `<prefix>:{<queue>}:callbacks:dead`: sorted set of ids whose callback delivery gave up, by when it did.
/// - `<prefix>:{<queue>}:control`: hash of an operator's settings for the queue and the state they need: `paused`
///   (when it was paused), `max_per_second`, `burst`, `max_active`, and the token bucket's `tokens` and
///   `tokens_at`. The claim scripts read it in one `HMGET`.
/// - `<prefix>:{<queue>}:stats`: hash of succeeded and failed counts in rings of minute and hour buckets, and
///   running totals (see ``QueueStatistics``).
///
/// And one key outside every queue's tag, `<prefix>:queues`: the registry, a sorted set of queue names (all
/// scored 0, so they sort by name). It lives on whatever node its own slot is on, so no queue script can
/// write it; see ``QueueRegistry`` for how it is kept right.
///
/// And the schedules' keys, all under the one hash tag `{schedules}` so every schedule script runs on one slot
/// (a fired task's keys are on its queue's slot; see ``ScheduleFirer`` for how a tick stays exactly-once across
/// the two):
/// - `<prefix>:{schedules}:names`: sorted set of every schedule's name (all scored 0, so they sort by name).
/// - `<prefix>:{schedules}:due`: sorted set of the names of schedules not paused, by the time (ms) their next
///   tick is due; workers take the due ones from its head.
/// - `<prefix>:{schedules}:firing`: sorted set of names a worker is firing, by when its claim runs out.
/// - `<prefix>:{schedules}:schedule:<name>`: hash of a schedule: its definition (`spec`), `next`, pause,
///   counts and its last run.
/// - `<prefix>:{schedules}:fired:<name>` and `:missed:<name>`: lists of its last runs and misses, bounded.
/// - `<prefix>:{<queue>}:fired:<name>:<tick>`: a short-lived marker, on the fired task's queue slot, that the
///   tick's task was stored (it outlives every attempt that may still try to store it).
///
/// And the workflows' keys (see ``WorkflowReleaser`` for the protocol that releases a child exactly once when
/// its parents are on other slots):
/// - A child's own hash holds its parents: `s:<parent>`, the parent's state as last released to it (`waiting`
///   until then), and `r:<parent>` and `e:<parent>`, its result and last error, copied there when it was.
/// - `<prefix>:{<queue>}:early:<token>`: the same for a child not stored yet when a parent was released to it
///   (a child whose parent finished while its batch was being stored); read and removed when it is stored.
/// - `<prefix>:{<queue>}:children:<token>`: set of a task's children's ids, on the parent's slot.
/// - `<prefix>:{<queue>}:tomb:<token>`: what a deleted task with children or a batch leaves until they are told.
/// - `<prefix>:{<queue>}:released`: sorted set, the queue's outbox: ids of tasks with children or a batch whose
///   state changed and whose children and batch are still to be told, by when a drainer may take them.
/// - `<prefix>:{<queue>}:waiting`: sorted set of the queue's waiting tasks, by when they expire.
/// - `<prefix>:{batches}:batch:<id>`: hash of a batch: total, counts, metadata, callback, completion.
/// - `<prefix>:{batches}:members:<id>`: hash of the batch's tasks that are final, to the state they are counted in.
/// - `<prefix>:{batches}:children:<id>`: set of the ids of tasks that wait for the batch.
/// - `<prefix>:{batches}:released` (outbox of complete batches with children), `:callbacks` (webhook deliveries
///   due), `:expiry` (batches by when they expire) and the channel `:events`.
///
/// And one pub/sub channel per queue, `<prefix>:{<queue>}:events`, carrying every state change of its tasks
/// (sharded pub/sub, see ``EventChannelMode``; the hash tag keeps it on the queue's node), and one,
/// `<prefix>:{<queue>}:cancellations`, carrying the ids of running tasks an operator cancels.
public struct KeySpace: Sendable, Equatable {
    /// The first part of every key (`taskgate` by default).
    public let prefix: String

    /// Validates a prefix: 1 to 64 characters from `A-Z a-z 0-9 : . _ -` (no braces, which would move the hash tag).
    public init?(prefix: String) {
        let allowed = prefix.utf8.allSatisfy { QueueName.isAllowed($0) || $0 == UInt8(ascii: ":") }
        guard (1...64).contains(prefix.utf8.count), allowed else { return nil }
        self.prefix = prefix
    }

    /// The default key space, `taskgate`.
    public static let standard = KeySpace(prefix: "taskgate")!

    private func queueKey(_ queue: QueueName, _ suffix: String, _ tail: String = "") -> String {
        // Built in one allocation: every POST and every claim builds a key or two.
        var key = ""
        key.reserveCapacity(prefix.utf8.count + queue.rawValue.utf8.count + suffix.utf8.count + tail.utf8.count + 4)
        key += prefix
        key += ":{"
        key += queue.rawValue
        key += "}:"
        key += suffix
        key += tail
        return key
    }

    /// The hash holding a task's record.
    public func task(_ id: TaskID) -> String { queueKey(id.queue, "task:", id.token) }
    /// What every task key of `queue` starts with (the claim script derives task keys from ids with it).
    public func taskPrefix(_ queue: QueueName) -> String { queueKey(queue, "task:") }
    /// The list of ids waiting to run.
    public func pending(_ queue: QueueName) -> String { queueKey(queue, "pending") }
    /// The list of ids a worker holds.
    public func active(_ queue: QueueName) -> String { queueKey(queue, "active") }
    /// The sorted set of ids waiting for their time (delay or backoff).
    public func scheduled(_ queue: QueueName) -> String { queueKey(queue, "scheduled") }
    /// The sorted set of ids waiting out a retry's backoff, scored by when it ends.
    public func retrying(_ queue: QueueName) -> String { queueKey(queue, "retrying") }
    /// The hash of the queue's operator settings (pause, limits) and its token bucket.
    public func control(_ queue: QueueName) -> String { queueKey(queue, "control") }
    /// The hash of the queue's succeeded and failed counts.
    public func stats(_ queue: QueueName) -> String { queueKey(queue, "stats") }
    /// The registry of queues (not under any queue's tag).
    public var queues: String { prefix + ":queues" }
    /// The sorted set of dead ids, scored by the time they died.
    public func dead(_ queue: QueueName) -> String { queueKey(queue, "dead") }
    /// The sorted set of claimed ids, scored by the deadline of their lease.
    public func leases(_ queue: QueueName) -> String { queueKey(queue, "leases") }
    /// The hash of active-list ids that had no lease when a recovery pass looked, to when that was first seen.
    public func unleased(_ queue: QueueName) -> String { queueKey(queue, "unleased") }
    /// The sorted set of ids whose callback is to be delivered, by when the next try is due.
    public func callbacks(_ queue: QueueName) -> String { queueKey(queue, "callbacks") }
    /// The sorted set of ids whose callback delivery gave up, by when it did.
    public func deadCallbacks(_ queue: QueueName) -> String { queueKey(queue, "callbacks:dead") }
    /// The pub/sub channel that carries the id of each running task of `queue` an operator cancels (workers listen).
    public func cancellations(_ queue: QueueName) -> String { queueKey(queue, "cancellations") }
    /// The pub/sub channel of `queue`'s task events.
    public func events(_ queue: QueueName) -> String { queueKey(queue, "events") }
    /// The sorted set of every schedule's name.
    public var scheduleNames: String { prefix + ":{schedules}:names" }
    /// The sorted set of schedules not paused, by when their next tick is due (ms).
    public var schedulesDue: String { prefix + ":{schedules}:due" }
    /// The sorted set of schedules being fired, by when the firing worker's claim runs out (ms).
    public var schedulesFiring: String { prefix + ":{schedules}:firing" }
    /// What every schedule's hash key starts with (the claim script derives them from names with it).
    public var schedulePrefix: String { prefix + ":{schedules}:schedule:" }
    /// What every schedule's list of last runs starts with.
    public var scheduleFiredPrefix: String { prefix + ":{schedules}:fired:" }
    /// What every schedule's list of last misses starts with.
    public var scheduleMissedPrefix: String { prefix + ":{schedules}:missed:" }
    /// The hash of schedule `name`.
    public func schedule(_ name: ScheduleName) -> String { schedulePrefix + name.rawValue }
    /// The list of schedule `name`'s last runs.
    public func scheduleFired(_ name: ScheduleName) -> String { scheduleFiredPrefix + name.rawValue }
    /// The list of schedule `name`'s last misses.
    public func scheduleMissed(_ name: ScheduleName) -> String { scheduleMissedPrefix + name.rawValue }
    /// The marker, on `queue`'s slot, that schedule `name`'s task for the tick at `tick` (ms) was stored.
    public func firedTick(_ queue: QueueName, _ name: ScheduleName, tick: Int) -> String {
        queueKey(queue, "fired:", name.rawValue + ":" + String(tick))
    }
    /// Parents released to a child before it was stored (on the child's slot).
    public func earlyReleases(_ id: TaskID) -> String { queueKey(id.queue, "early:", id.token) }
    /// The set of a task's children's ids (on the parent's slot).
    public func children(_ id: TaskID) -> String { queueKey(id.queue, "children:", id.token) }
    /// What every children's set of `queue` starts with.
    public func childrenPrefix(_ queue: QueueName) -> String { queueKey(queue, "children:") }
    /// What every tombstone of `queue` starts with.
    public func tombstonePrefix(_ queue: QueueName) -> String { queueKey(queue, "tomb:") }
    /// What a deleted task with children or a batch leaves for the drainer.
    public func tombstone(_ id: TaskID) -> String { queueKey(id.queue, "tomb:", id.token) }
    /// The queue's outbox: tasks whose children or batch are still to be told of a change of state.
    public func released(_ queue: QueueName) -> String { queueKey(queue, "released") }
    /// The queue's waiting tasks, by when they expire.
    public func waiting(_ queue: QueueName) -> String { queueKey(queue, "waiting") }
    /// The hash of batch `id`.
    public func batch(_ id: String) -> String { prefix + ":{batches}:batch:" + id }
    /// The hash of batch `id`'s final tasks, to the state each is counted in.
    public func batchMembers(_ id: String) -> String { prefix + ":{batches}:members:" + id }
    /// What every batch's hash starts with.
    public var batchPrefix: String { prefix + ":{batches}:batch:" }
    /// What every batch's children's set starts with.
    public var batchChildrenPrefix: String { prefix + ":{batches}:children:" }
    /// The set of tasks that wait for batch `id`.
    public func batchChildren(_ id: String) -> String { prefix + ":{batches}:children:" + id }
    /// The outbox of complete batches whose children are still to be told.
    public var batchesReleased: String { prefix + ":{batches}:released" }
    /// The batches whose completion webhook is due, by when.
    public var batchCallbacks: String { prefix + ":{batches}:callbacks" }
    /// Every batch, by when it expires.
    public var batchExpiry: String { prefix + ":{batches}:expiry" }
    /// The pub/sub channel of batch events (completion).
    public var batchEvents: String { prefix + ":{batches}:events" }
    /// The hash recording the task an idempotency key created on `queue`.
    public func idempotency(_ queue: QueueName, _ key: IdempotencyKey) -> String {
        queueKey(queue, "idempotency:", key.rawValue)
    }
}

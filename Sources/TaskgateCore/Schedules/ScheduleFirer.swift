import Synchronization
import TaskgateCrypto
import TaskgateRedis

/// Fires due schedules, exactly once per tick, from any number of workers at once and with no leader.
///
/// One pass takes three steps:
/// 1. **Claim** (one script on `{schedules}`, ``ScheduleScripts/claim``): up to ``batch`` due schedules move
///    from the due set to the firing set under this pass's token, scored by when the claim runs out
///    (``claimMilliseconds``). No other worker takes them meanwhile. The pass plans each schedule as of its
///    tick's first claim, so a pass that takes over a dead one's claim fires the same ticks.
/// 2. **Store** (the enqueue script, on each task's queue slot): each tick's task under an id derived from
///    the schedule and the tick, with a marker key beside it. Storing an id or a marker that exists writes
///    nothing, so a tick stored twice is stored once. The script refuses to store after the claim's half-life
///    (`not_after`, Redis time of the claim plus half its length), so a worker that stalled past its claim
///    cannot store a tick's task after another worker took over.
/// 3. **Commit** (one script on `{schedules}`, ``ScheduleScripts/commit``): under the same token only, the
///    schedule's next tick moves on and its runs and misses are kept.
///
/// Why a tick fires exactly once, on one Redis or on a Cluster where the schedule and its queue are on
/// different slots and nodes: only a claim's holder stores or commits. A worker killed after step 2 leaves a
/// claim that runs out; the next claimer finds the same tick (the commit never moved `next`), derives the same
/// id and stores nothing new. An attempt's store lands before `not_after`, a later claimer's only after the
/// earlier claim ran out (`claimMilliseconds` later, so clocks of the two nodes may differ by up to half a
/// claim), and the marker lives ``markerMilliseconds``, so a later attempt always finds it even when the task
/// itself already finished and expired. A pass that finds its store refused (late) or failed commits nothing
/// for that schedule: its claim runs out and another pass fires the tick.
///
/// Blocking: call ``fire()`` from a thread that may block.
public final class ScheduleFirer: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// How long a claim lasts before another worker may take the schedule over (ms).
    public let claimMilliseconds: Int
    /// The most schedules one pass takes.
    public let batch: Int
    private let store: RedisTaskStore
    private let definitions = Mutex<[String: ScheduleDefinition]>([:])

    /// How long a tick's marker lives: ten claims, far past the last moment any attempt may store.
    public var markerMilliseconds: Int { 10 * claimMilliseconds }

    /// Creates a firer.
    public init(pool: RedisConnectionPool, keys: KeySpace, claimMilliseconds: Int = 30_000, batch: Int = 100) {
        self.pool = pool
        self.keys = keys
        self.claimMilliseconds = max(1000, claimMilliseconds)
        self.batch = max(1, batch)
        self.store = RedisTaskStore(pool: pool, keys: keys)
    }

    /// What one pass did.
    public struct Pass: Sendable, Equatable {
        /// Schedules claimed.
        public var claimed = 0
        /// Tasks stored (a tick another attempt had stored counts too: its run is recorded now).
        public var fired = 0
        /// Ticks counted as missed.
        public var missed = 0
        /// Schedules left to their claim's end (a store refused or failed, a commit refused).
        public var unfinished = 0
        /// How long until anything is due again (ms); `nil` when nothing is.
        public var nextDueInMilliseconds: Int?
    }

    /// The id of the task `schedule` fires for the tick at `tick` (ms) on `queue`: the same on every host.
    public static func taskID(for schedule: ScheduleName, tick: Int, queue: QueueName) -> TaskID {
        let digest = Digest.hmacSHA256(
            key: Array("taskgate schedule tick".utf8), message: Array("\(schedule.rawValue)\n\(tick)".utf8))
        return TaskID(queue.rawValue + "." + Digest.hex(Array(digest.prefix(16))))!
    }

    /// One pass: claims due schedules, stores their ticks' tasks, commits. Call again at once when
    /// ``Pass/claimed`` equals ``batch``; otherwise after ``Pass/nextDueInMilliseconds`` (a second at most).
    public func fire() throws(TaskStoreError) -> Pass {
        let token = RandomBits.hex128()
        let reply = try run(
            ScheduleScripts.claim, keys: [keys.schedulesDue, keys.schedulesFiring],
            arguments: [batch, claimMilliseconds, token, keys.schedulePrefix])
        guard let parts = reply.array, parts.count >= 2, let now = parts[0].int else {
            throw TaskStoreError(.corrupt, "unexpected schedule claim reply \(reply)")
        }
        var pass = Pass()
        pass.nextDueInMilliseconds = parts[1].string.flatMap(Int.init).map { max(0, $0 - now) }
        var claims: [Claim] = []
        var index = 2
        while index + 10 <= parts.count {
            let values = parts[index..<(index + 10)].map { $0.string ?? "" }
            index += 10
            pass.claimed += 1
            guard let name = ScheduleName(values[0]), let definition = definition(values[1]) else {
                pass.unfinished += 1
                continue
            }
            claims.append(Claim(name: name, definition: definition, values: values))
        }
        guard !claims.isEmpty else { return pass }
        let running = try lastRunning(claims)
        var plans: [ScheduleFirePlan] = []
        for (offset, claim) in claims.enumerated() {
            // Planned as of the tick's first claim (a claim taken over fires what the first may have stored), and
            // a schedule paused while its claim ran out fires what was due before the pause, no later tick.
            let claimedAt = min(claim.claimedAt ?? now, now)
            let planned = claim.pausedAt.map { min($0, claimedAt) } ?? claimedAt
            plans.append(
                ScheduleFirePlan(
                    claim.definition, next: claim.next, buffered: claim.buffered, paused: claim.pausedWindow,
                    lastRunning: running[offset], now: planned))
        }
        let stored = try store(claims, plans, notAfter: now + claimMilliseconds / 2)
        var arguments: [any RedisArgument] = [
            token, keys.schedulePrefix, keys.scheduleFiredPrefix, keys.scheduleMissedPrefix,
        ]
        var committing = 0
        for (offset, claim) in claims.enumerated() {
            guard let ids = stored[offset] else {
                pass.unfinished += 1
                continue
            }
            let plan = plans[offset]
            let runs = zip(plan.fires, ids).map { fire, id in
                ScheduleRun.entry(tick: fire.tick, id: id, kind: fire.kind)
            }
            arguments +=
                [
                    claim.name.rawValue, claim.timing, plan.next.map(String.init) ?? "",
                    plan.buffered.map(String.init) ?? "", runs.joined(separator: "\n"),
                    plan.misses.map(\.entry).joined(separator: "\n"),
                ] as [any RedisArgument]
            committing += 1
            pass.fired += ids.count
            pass.missed += plan.misses.reduce(0) { $0 + $1.count }
        }
        guard committing > 0 else { return pass }
        let committed = try run(
            ScheduleScripts.commit, keys: [keys.schedulesDue, keys.schedulesFiring], arguments: arguments)
        pass.unfinished += (committed.array ?? []).filter { $0.int != 1 }.count
        return pass
    }

    /// A claimed schedule, as the claim script gave it.
    private struct Claim {
        let name: ScheduleName
        let definition: ScheduleDefinition
        let next: Int?
        let buffered: Int?
        let lastID: TaskID?
        let timing: String
        let pausedAt: Int?
        let pausedWindow: Range<Int>?
        let claimedAt: Int?

        init(name: ScheduleName, definition: ScheduleDefinition, values: [String]) {
            self.name = name
            self.definition = definition
            next = Int(values[2])
            buffered = Int(values[3])
            lastID = TaskID(values[4])
            timing = values[5]
            pausedAt = Int(values[6])
            if let from = Int(values[7]), let to = Int(values[8]), from <= to {
                pausedWindow = from..<to
            } else {
                pausedWindow = nil
            }
            claimedAt = Int(values[9])
        }
    }

    /// Whether each claim's last run is not final yet, read only for schedules whose overlap policy asks (one
    /// pipelined round of `HGET`s, each on its task's slot).
    private func lastRunning(_ claims: [Claim]) throws(TaskStoreError) -> [Bool] {
        let asked = claims.indices.filter { claims[$0].definition.overlap != .allow && claims[$0].lastID != nil }
        var running = [Bool](repeating: false, count: claims.count)
        guard !asked.isEmpty else { return running }
        let commands = asked.map { RedisCommand("HGET", keys.task(claims[$0].lastID!), "state") }
        let replies = try pool.round(commands)
        for (offset, reply) in zip(asked, replies) {
            // A record that is gone (finished and expired, or deleted) is final.
            if let state = reply.string.flatMap(TaskState.init(rawValue:)) { running[offset] = !state.isFinal }
        }
        return running
    }

    /// Stores every planned tick's task, one enqueue call per queue; per claim the ids of its runs in plan
    /// order, or `nil` when any of its stores was refused or failed (that schedule is not committed).
    private func store(_ claims: [Claim], _ plans: [ScheduleFirePlan], notAfter: Int) throws(TaskStoreError)
        -> [[TaskID]?]
    {
        var requests: [QueueName: [(claim: Int, fire: Int, request: EnqueueRequest)]] = [:]
        for (offset, claim) in claims.enumerated() {
            for (fireIndex, fire) in plans[offset].fires.enumerated() {
                var submission = claim.definition.task
                submission.origin = ScheduleOrigin(schedule: claim.name, tick: Timestamp(milliseconds: fire.tick))
                let queue = submission.queue
                let id = Self.taskID(for: claim.name, tick: fire.tick, queue: queue)
                let request = EnqueueRequest(
                    id: id, submission: submission, payload: submission.payload.serialized,
                    keys: [keys.task(id), keys.firedTick(queue, claim.name, tick: fire.tick)],
                    windowMilliseconds: markerMilliseconds, notAfterMilliseconds: notAfter)
                requests[queue, default: []].append((offset, fireIndex, request))
            }
        }
        var ids: [[TaskID]?] = Array(repeating: nil, count: claims.count)
        var slots: [[TaskID?]] = plans.map { [TaskID?](repeating: nil, count: $0.fires.count) }
        var failed = Set<Int>()
        for (_, group) in requests {
            let reply: RedisValue
            do {
                reply = try store.runEnqueue(group.map(\.request))
            } catch {
                // Another queue's slot may be down while this one is up: those schedules wait, the rest go on.
                group.forEach { failed.insert($0.claim) }
                continue
            }
            let parts = reply.array ?? []
            for (position, entry) in group.enumerated() {
                let kind = parts.count > 1 + 2 * position ? parts[1 + 2 * position].string : nil
                let data = parts.count > 2 + 2 * position ? parts[2 + 2 * position] : .null
                switch kind {
                case "created", "existing":
                    slots[entry.claim][entry.fire] = entry.request.id
                case "replayed", "conflict":
                    // The marker holds the id an earlier attempt stored (its template may have been other).
                    slots[entry.claim][entry.fire] = data.string.flatMap(TaskID.init) ?? entry.request.id
                default:
                    failed.insert(entry.claim)
                }
            }
        }
        for offset in claims.indices {
            ids[offset] = failed.contains(offset) ? nil : slots[offset].compactMap { $0 }
        }
        return ids
    }

    /// The definition stored as `spec`, parsed once per worker (bounded: the cache starts over past 20,000).
    private func definition(_ spec: String) -> ScheduleDefinition? {
        if let known = definitions.withLock({ $0[spec] }) { return known }
        guard let parsed = try? ScheduleDefinition(body: Array(spec.utf8)) else { return nil }
        definitions.withLock {
            if $0.count >= 20_000 { $0.removeAll(keepingCapacity: true) }
            $0[spec] = parsed
        }
        return parsed
    }

    private func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument]) throws(TaskStoreError)
        -> RedisValue
    {
        try ScheduleScripts.run(script, on: pool, keys: keys, arguments: arguments)
    }
}

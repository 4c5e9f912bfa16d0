import TaskgateRedis

/// The operator's write side over queues: pause, resume and limits, for the HTTP API and the CLI alike.
///
/// Each change is one script (``TaskScripts/control``) that writes the queue's control hash and publishes the
/// queue event in the same step; the claim scripts read that hash, so a claim that starts after a change has
/// answered obeys it, on every worker.
public struct QueueControl: Sendable {
    /// Where the connections come from.
    public let pool: RedisConnectionPool
    /// How keys are named.
    public let keys: KeySpace
    /// Queues changed here are registered, so an operator finds them.
    public let registry: QueueRegistry

    /// Creates the control side.
    public init(pool: RedisConnectionPool, keys: KeySpace, registry: QueueRegistry) {
        self.pool = pool
        self.keys = keys
        self.registry = registry
    }

    /// A queue's settings after a change.
    public struct Settings: Sendable, Equatable {
        /// When it was paused; `nil` when it runs.
        public var pausedAt: Timestamp?
        /// Its limits.
        public var limits: QueueLimits
    }

    /// Pauses `queue`: it still accepts tasks, but no claim of any worker starts one until ``resume(_:)``.
    /// Pausing a paused queue keeps its first pause time. Publishes `paused`.
    public func pause(_ queue: QueueName) throws(TaskStoreError) -> Settings {
        try change(queue, event: "paused", deleting: [], setting: [("paused", "now")], onlyIfAbsent: "paused")
    }

    /// Resumes `queue`; claims start its tasks again. Publishes `resumed`.
    public func resume(_ queue: QueueName) throws(TaskStoreError) -> Settings {
        try change(queue, event: "resumed", deleting: ["paused"], setting: [])
    }

    /// Replaces `queue`'s limits (a `nil` member removes that limit); the token bucket starts full. Publishes
    /// `limits`.
    public func setLimits(_ queue: QueueName, _ limits: QueueLimits) throws(TaskStoreError) -> Settings {
        var setting: [(String, String)] = []
        var deleting = ["tokens", "tokens_at"]
        func put(_ field: String, _ value: String?) {
            if let value { setting.append((field, value)) } else { deleting.append(field) }
        }
        put("max_per_second", limits.maxPerSecond.map(QueueLimits.text(rate:)))
        put("burst", limits.burst.map(String.init))
        put("max_active", limits.maxActive.map(String.init))
        return try change(queue, event: "limits", deleting: deleting, setting: setting)
    }

    /// Removes every limit of `queue`. Publishes `limits`.
    public func clearLimits(_ queue: QueueName) throws(TaskStoreError) -> Settings {
        try setLimits(queue, QueueLimits())
    }

    private func change(
        _ queue: QueueName, event: String, deleting: [String], setting: [(String, String)],
        onlyIfAbsent: String? = nil
    ) throws(TaskStoreError) -> Settings {
        registry.use(queue)
        var arguments: [any RedisArgument] = [
            keys.events(queue), queue.rawValue, event, onlyIfAbsent ?? "", deleting.count,
        ]
        arguments += deleting as [any RedisArgument]
        for (field, value) in setting { arguments += [field, value] as [any RedisArgument] }
        let control = keys.control(queue)
        let reply: RedisValue
        do {
            // Repeating the script after a broken connection sets what it set: safe to retry.
            reply = try pool.withConnectionRetryingOnce { connection throws(RedisError) in
                try TaskScripts.control.run(on: connection, keys: [control], arguments: arguments)
            }
        } catch {
            throw TaskStoreError(error)
        }
        let fields = QueueInspector.fields(reply)
        return Settings(
            pausedAt: fields["paused"].flatMap(Int.init).map(Timestamp.init(milliseconds:)),
            limits: QueueLimits(control: fields))
    }
}

import ArgumentParser
import Logging
import TaskgateRedis

/// `--require-durable`, and the check `taskgate serve` and `taskgate worker` make of Redis' settings at start.
struct DurabilityOptions: ParsableArguments {
    @Flag(
        help:
            "Refuse to start unless Redis keeps every acknowledged write: maxmemory-policy noeviction and the append-only file on. [TASKGATE_REQUIRE_DURABLE=1]"
    )
    var requireDurable = false
    @Option(
        help:
            "Acknowledge a task (the 202) and, in a worker, an attempt's outcome only once this many replicas hold it (one Redis WAIT per pipeline round); when they do not confirm in time, answer 503 (the client repeats with its Idempotency-Key) or, in a worker, report again. [TASKGATE_MIN_REPLICAS, default 0: off]"
    )
    var minReplicas: Int?
    @Option(
        help:
            "How long --min-replicas waits for the replicas, in milliseconds. [TASKGATE_REPLICA_TIMEOUT_MS, default 1000]"
    )
    var replicaTimeoutMs: Int?

    /// The Redis configuration of `common`, with `--min-replicas` applied.
    func redis(_ common: CommonOptions) throws -> RedisConfiguration {
        var redis = try common.redis()
        let replicas = try Settings.int(minReplicas, "TASKGATE_MIN_REPLICAS", default: 0, range: 0...64)
        let timeout = try Settings.int(
            replicaTimeoutMs, "TASKGATE_REPLICA_TIMEOUT_MS", default: 1000, range: 1...600_000)
        if replicas > 0 {
            redis.acknowledgement = RedisReplicaAcknowledgement(replicas: replicas, timeoutMilliseconds: timeout)
        }
        return redis
    }

    /// Whether the flag or `TASKGATE_REQUIRE_DURABLE=1` asks for a durable Redis.
    var required: Bool { requireDurable || Settings.string("TASKGATE_REQUIRE_DURABLE") == "1" }

    /// Reads Redis' eviction policy and persistence and logs what they risk; with `--require-durable`, throws when
    /// they risk accepted tasks, or when Redis cannot be reached to tell. A server that refuses `CONFIG GET` (as
    /// managed services often do) is reported and let be, even then: its settings cannot be known from here.
    func check(_ redis: RedisConfiguration, logger: Logger) throws {
        let durability: RedisDurability
        do throws(RedisError) {
            let connection = try RedisConnection(configuration: redis)
            durability = try RedisDurability.read(on: connection)
            if let acknowledgement = redis.acknowledgement {
                // ROLE on a master: ["master", offset, [[ip, port, offset], ...]].
                let role = try connection.send(RedisCommand("ROLE")).array ?? []
                let replicas = role.count > 2 ? role[2].array?.count ?? 0 : 0
                let metadata: Logger.Metadata = [
                    "replicas": "\(replicas)", "min_replicas": "\(acknowledgement.replicas)",
                    "timeout_ms": "\(acknowledgement.timeoutMilliseconds)",
                ]
                if replicas < acknowledgement.replicas {
                    logger.warning(
                        "fewer replicas are connected than --min-replicas asks for: writes will be refused (503) until enough are",
                        metadata: metadata)
                } else {
                    logger.info("writes are acknowledged once replicas hold them", metadata: metadata)
                }
            }
        } catch {
            if required {
                throw ValidationError(
                    "--require-durable: cannot read Redis' settings at \(redis.redactedDescription): \(error)")
            }
            logger.warning(
                "could not read Redis' durability settings; going on", metadata: ["error": "\(error)"])
            return
        }
        switch durability.settings {
        case .unreadable(let answer):
            let checked = required ? "; --require-durable could not be checked" : ""
            logger.warning(
                "Redis would not tell its maxmemory-policy and persistence (managed services often forbid CONFIG GET): make sure keys are never evicted and writes are persisted\(checked)",
                metadata: ["answer": "\(answer)"])
        case .read(let policy, let appendOnly, let save):
            let settings: Logger.Metadata = [
                "maxmemory_policy": "\(policy)", "appendonly": "\(appendOnly ? "yes" : "no")", "save": "\(save)",
            ]
            let warnings = durability.warnings
            if warnings.isEmpty {
                logger.info("Redis keeps acknowledged writes", metadata: settings)
                return
            }
            if required {
                throw ValidationError("--require-durable: " + warnings.joined(separator: "; "))
            }
            for warning in warnings { logger.warning("\(warning)", metadata: settings) }
        }
    }
}

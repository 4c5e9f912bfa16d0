import TaskgateRedis
import Testing

/// What Redis' `CONFIG GET` answers say about keeping acknowledged tasks.
@Suite(.dedicatedThreads) struct RedisDurabilityTests {
    private func durability(_ policy: String, _ appendOnly: String, _ save: String) -> RedisDurability {
        func pair(_ name: String, _ value: String) -> RedisValue {
            .array([.bulk(Array(name.utf8)), .bulk(Array(value.utf8))])
        }
        return RedisDurability(replies: [
            pair("maxmemory-policy", policy), pair("appendonly", appendOnly), pair("save", save),
        ])
    }

    @Test func noEvictionWithTheAppendOnlyFileKeepsEveryWrite() {
        let settings = durability("noeviction", "yes", "")
        #expect(settings.settings == .read(maxmemoryPolicy: "noeviction", appendOnly: true, save: ""))
        #expect(settings.isDurable && settings.warnings.isEmpty && settings.persists == true)
    }

    @Test func anEvictingPolicyIsNamedInItsWarning() {
        for policy in ["allkeys-lru", "volatile-ttl", "allkeys-random"] {
            let settings = durability(policy, "yes", "")
            #expect(!settings.isDurable)
            #expect(settings.warnings.count == 1 && settings.warnings[0].contains("maxmemory-policy is \(policy)"))
        }
    }

    @Test func persistenceOffOrSnapshotsOnlyAreWarnedAbout() {
        let none = durability("noeviction", "no", "")
        #expect(none.persists == false && !none.isDurable)
        #expect(none.warnings.count == 1 && none.warnings[0].contains("persists nothing"))
        let snapshots = durability("noeviction", "no", "3600 1 300 100")
        #expect(snapshots.persists == true && !snapshots.isDurable)
        #expect(snapshots.warnings.count == 1 && snapshots.warnings[0].contains("RDB snapshots only"))
        #expect(durability("allkeys-lru", "no", "").warnings.count == 2)
    }

    @Test func aRefusedOrOddAnswerIsUnreadableNotDurable() {
        let refused = RedisDurability(replies: [
            .error("ERR unknown command 'CONFIG'"), .error("ERR unknown command 'CONFIG'"),
            .error("ERR unknown command 'CONFIG'"),
        ])
        #expect(refused.settings == .unreadable("ERR unknown command 'CONFIG'"))
        #expect(refused.isUnreadable && !refused.isDurable && refused.warnings.isEmpty && refused.persists == nil)
        #expect(RedisDurability(replies: [.array([]), .null, .integer(1)]).isUnreadable)
        #expect(RedisDurability(replies: []).isUnreadable)
    }
}

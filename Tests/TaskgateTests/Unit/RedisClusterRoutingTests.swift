import Testing

@testable import TaskgateRedis

/// How a command finds its Redis Cluster node: slots, routing keys, redirections and the URL form.
@Suite(.dedicatedThreads) struct RedisClusterRoutingTests {
    @Test func slotsMatchRedis() {
        // Values from CLUSTER KEYSLOT on Redis 7.0.
        #expect(RedisKeySlot.slot(of: "foo") == 12182)
        #expect(RedisKeySlot.slot(of: "123456789") == 12739)
        #expect(RedisKeySlot.slot(of: "{q}") == 11958)
        // Only the hash tag counts, so every key of a queue shares its slot; an empty tag does not count.
        #expect(RedisKeySlot.slot(of: "taskgate:{q}:pending") == RedisKeySlot.slot(of: "q"))
        #expect(RedisKeySlot.slot(of: "taskgate:{q}:task:0a1b") == RedisKeySlot.slot(of: "q"))
        #expect(RedisKeySlot.slot(of: "a{}b") == RedisKeySlot.slot(of: "a{}b"))
        #expect(RedisKeySlot.slot(of: "a{}b") != RedisKeySlot.slot(of: ""))
    }

    @Test func commandsRouteByTheirFirstKey() {
        #expect(RedisCommand("LLEN", "k").routingKey.map { Array($0) } == Array("k".utf8))
        #expect(RedisCommand("EVALSHA", "abc", 2, "k1", "k2", "arg").routingKey.map { Array($0) } == Array("k1".utf8))
        #expect(RedisCommand("EVALSHA", "abc", 0, "arg").routingKey == nil)
        #expect(RedisCommand("PUBSUB", "SHARDNUMSUB", "ch").routingKey.map { Array($0) } == Array("ch".utf8))
        for keyless in ["PING", "WAIT", "MULTI", "EXEC", "TIME", "INFO", "ROLE"] {
            #expect(RedisCommand(keyless, "1", "2").routingKey == nil, "\(keyless)")
        }
        #expect(RedisCommand("SSUBSCRIBE", "taskgate:{q}:events").slot == RedisKeySlot.slot(of: "q"))
    }

    @Test func scriptsThatDeriveKeysDoNotFollowAsk() {
        let plain = RedisScript("return 1")
        let deriving = RedisScript("return 1", derivesKeys: true)
        #expect(plain.command(sha: plain.sha, keys: ["k"], arguments: []).followsAsk)
        #expect(!deriving.command(sha: deriving.sha, keys: ["k"], arguments: []).followsAsk)
        // The SHA1 Redis gives `return 1` (SCRIPT LOAD).
        #expect(plain.sha == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }

    @Test func redirectionsAreRead() {
        #expect(
            Redirection(.error("MOVED 3999 127.0.0.1:6381"))
                == .moved(3999, RedisEndpoint(host: "127.0.0.1", port: 6381)))
        #expect(Redirection(.error("ASK 12 [::1]:7000")) == .ask(12, RedisEndpoint(host: "::1", port: 7000)))
        // A node that does not know its own address names a port only: the host is the one asked.
        let portOnly = Redirection(.error("MOVED 7 :7001"))
        #expect(portOnly == .moved(7, RedisEndpoint(host: "", port: 7001)))
        #expect(
            RedisEndpoint(host: "", port: 7001).resolved(against: RedisEndpoint(host: "10.0.0.5", port: 7000))
                == RedisEndpoint(host: "10.0.0.5", port: 7001))
        #expect(Redirection(.error("TRYAGAIN Multiple keys request during rehashing of slot")) == .retry)
        #expect(Redirection(.error("CLUSTERDOWN The cluster is down")) == .retry)
        #expect(
            Redirection(.error("ERR Script attempted to access a non local key in a cluster node script: x")) == .retry)
        #expect(Redirection(.error("ERR wrong number of arguments")) == nil)
        #expect(Redirection(.integer(1)) == nil)
    }

    @Test func parsesClusterURLs() throws {
        let configuration = try RedisConfiguration(url: "redis+cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002")
        let cluster = try #require(configuration.cluster)
        #expect(
            cluster.seeds == [
                RedisEndpoint(host: "10.0.0.1", port: 7000), RedisEndpoint(host: "10.0.0.2", port: 6379),
                RedisEndpoint(host: "::1", port: 7002),
            ])
        #expect(configuration.password == "pw" && configuration.database == 0)
        #expect(configuration.redactedDescription == "redis+cluster://***@10.0.0.1:7000,10.0.0.2:6379,[::1]:7002")
        #expect(configuration.cluster?.map === configuration.cluster?.map)
        for bad in ["redis+cluster://h1/1", "redis+cluster://h1:0", "redis+cluster://h1?x=y"] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisConfiguration(url: bad) }
        }
    }
}

import Testing

@testable import TaskgateRedis

@Suite(.dedicatedThreads) struct RedisConfigurationTests {
    @Test func parsesAFullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://:s%40cret@cache.internal:6380/3")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.password == "s@cret")
        #expect(configuration.username == nil)
        #expect(configuration.database == 3)
        #expect(!configuration.redactedDescription.contains("cret"))
    }

    @Test func parsesUserAndIPv6() throws {
        let configuration = try RedisConfiguration(url: "redis://app:pw@[::1]:7000")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(configuration.username == "app")
        #expect(configuration.password == "pw")
    }

    @Test func appliesDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.password == nil)
    }

    @Test(arguments: [
        "http://localhost", "redis://host:0", "redis://host:99999", "redis://host:port", "redis://host/x",
    ])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }
}

@Suite(.dedicatedThreads) struct SentinelURLTests {
    @Test func parsesSentinelsMasterNameAndDatabase() throws {
        let configuration = try RedisConfiguration(
            url: "redis+sentinel://app:s%40cret@10.0.0.1:26380,[::1],sentinel-c/main-redis/2?sentinel_password=p%26w")
        let sentinel = try #require(configuration.sentinel)
        #expect(
            sentinel.sentinels == [
                RedisEndpoint(host: "10.0.0.1", port: 26380), RedisEndpoint(host: "::1", port: 26379),
                RedisEndpoint(host: "sentinel-c", port: 26379),
            ])
        #expect(sentinel.masterName == "main-redis")
        #expect(sentinel.sentinelPassword == "p&w")
        #expect(configuration.username == "app" && configuration.password == "s@cret")
        #expect(configuration.database == 2)
        #expect(!configuration.redactedDescription.contains("cret"))
        #expect(configuration.redactedDescription.hasPrefix("redis+sentinel://***@10.0.0.1:26380,[::1]:26379"))
    }

    @Test func copiesShareOneMonitor() throws {
        let configuration = try RedisConfiguration(url: "redis+sentinel://127.0.0.1/m")
        let copy = configuration
        #expect(copy.sentinel?.monitor === configuration.sentinel?.monitor)
        #expect(configuration.database == 0)
    }

    @Test(arguments: [
        "redis+sentinel://127.0.0.1:26379", "redis+sentinel://127.0.0.1:26379/", "redis+sentinel://h1,h2:0/m",
        "redis+sentinel://h1/m/x", "redis+sentinel://h1/m/0/extra", "redis+sentinel://h1/m?color=blue",
        "redis://h1/0?sentinel_password=x", "redis://h1/0/1",
    ])
    func rejectsBadSentinelURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }
}

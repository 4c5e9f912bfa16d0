import Testing

@testable import TaskgateRedis

@Suite struct RedisConfigurationTests {
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

/// Where a Redis Cluster is, from a `redis+cluster://` URL: seed nodes to learn the slot map from.
///
/// Copies of one configuration share one ``RedisClusterMap``, so a redirection one connection meets moves
/// every connection of the process.
public struct RedisClusterSettings: Sendable, Equatable {
    /// The nodes first asked for the slot map (any node of the cluster will do; more than one in case one is down).
    public var seeds: [RedisEndpoint]
    /// Which node owns which slot; shared by every copy of these settings.
    public let map: RedisClusterMap

    /// Creates settings with a slot map of their own, empty until first used.
    public init(seeds: [RedisEndpoint]) {
        self.seeds = seeds
        self.map = RedisClusterMap(seeds: seeds)
    }

    public static func == (left: Self, right: Self) -> Bool { left.seeds == right.seeds }
}

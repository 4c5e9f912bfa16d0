/// Which Redis Sentinel deployment to ask for the master, from a `redis+sentinel://` URL.
///
/// Copies of one configuration share one ``RedisSentinelMonitor``, so every connection of a process learns of a
/// failover together.
public struct RedisSentinelSettings: Sendable, Equatable {
    /// The sentinels, in the order they are asked (the last one that answered moves to the front).
    public var sentinels: [RedisEndpoint]
    /// The name the sentinels monitor the master under (`sentinel monitor <name> ...`).
    public var masterName: String
    /// User name for the sentinels' own `AUTH`, if they require one.
    public var sentinelUsername: String?
    /// Password for the sentinels' own `AUTH` (`sentinel_password` in the URL), if they require one.
    public var sentinelPassword: String?
    /// Finds the master and watches for failovers; shared by every copy of these settings.
    public let monitor: RedisSentinelMonitor

    /// Creates settings with a monitor of their own.
    public init(
        sentinels: [RedisEndpoint], masterName: String, sentinelUsername: String? = nil,
        sentinelPassword: String? = nil
    ) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.sentinelUsername = sentinelUsername
        self.sentinelPassword = sentinelPassword
        self.monitor = RedisSentinelMonitor(sentinels: sentinels, masterName: masterName)
    }

    public static func == (left: Self, right: Self) -> Bool {
        left.sentinels == right.sentinels && left.masterName == right.masterName
            && left.sentinelUsername == right.sentinelUsername && left.sentinelPassword == right.sentinelPassword
    }
}

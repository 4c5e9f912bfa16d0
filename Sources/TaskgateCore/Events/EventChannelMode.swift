/// Which Redis pub/sub carries task events: sharded (`SPUBLISH`/`SSUBSCRIBE`, Redis 7) or classic.
///
/// Sharded pub/sub keeps a queue's events on the node that holds the queue's slot in a Redis Cluster;
/// classic pub/sub would copy every event to every node. Switching is the one line in ``current``: the
/// scripts publish with its ``publishCommand`` and the gateway's subscriber follows the rest.
public struct EventChannelMode: Sendable, Equatable {
    /// The command the scripts publish with.
    public let publishCommand: String
    /// The command that subscribes to channels.
    public let subscribeCommand: String
    /// The command that ends subscriptions.
    public let unsubscribeCommand: String
    /// The first element of a message push (`smessage` or `message`).
    public let messageKind: String
    /// The first element of a subscription's confirmation.
    public let subscribedKind: String
    /// The first element of an unsubscription's confirmation.
    public let unsubscribedKind: String
    /// The `PUBSUB` subcommand that counts a channel's subscribers.
    public let countSubcommand: String

    /// Sharded pub/sub, Redis 7.0 and later.
    public static let sharded = EventChannelMode(
        publishCommand: "SPUBLISH", subscribeCommand: "SSUBSCRIBE", unsubscribeCommand: "SUNSUBSCRIBE",
        messageKind: "smessage", subscribedKind: "ssubscribe", unsubscribedKind: "sunsubscribe",
        countSubcommand: "SHARDNUMSUB")
    /// Classic pub/sub.
    public static let classic = EventChannelMode(
        publishCommand: "PUBLISH", subscribeCommand: "SUBSCRIBE", unsubscribeCommand: "UNSUBSCRIBE",
        messageKind: "message", subscribedKind: "subscribe", unsubscribedKind: "unsubscribe",
        countSubcommand: "NUMSUB")

    /// The mode Taskgate uses.
    public static let current = EventChannelMode.sharded
}

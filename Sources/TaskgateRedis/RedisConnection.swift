/// A blocking connection to Redis: to one server, to the master the sentinels name, or to a Redis Cluster.
///
/// A connection is used by one thread at a time; ``RedisConnectionPool`` hands each one to a single
/// borrower. After an I/O error ``isBroken`` is `true` and the connection must be dropped, never reused:
/// hiredis cannot tell how much of a failed write reached the server. A cluster connection routes each
/// command to the node that owns its key's slot (see ``RedisClusterConnection``).
public final class RedisConnection: @unchecked Sendable {
    // @unchecked: both links hold mutable C state; safety comes from single ownership (one borrower at a time,
    // enforced by the pool or by a thread that owns the connection outright).
    private enum Link {
        case node(RedisNodeConnection)
        case cluster(RedisClusterConnection)
    }

    private let link: Link

    /// Connects, authenticates and selects the database; with Sentinel, asks the sentinels for the master first
    /// and checks with `ROLE` that the server it reached is the master; with Cluster, learns which node owns
    /// which slots (nodes are connected when first needed).
    public init(configuration: RedisConfiguration) throws(RedisError) {
        if let cluster = configuration.cluster {
            link = .cluster(try RedisClusterConnection(configuration: configuration, settings: cluster))
        } else {
            link = .node(try RedisNodeConnection(configuration: configuration))
        }
    }

    /// The server this connection reached (with Sentinel, the master; with Cluster, the first seed).
    public var endpoint: RedisEndpoint {
        switch link {
        case .node(let node): node.endpoint
        case .cluster(let cluster): cluster.endpoint
        }
    }

    /// `true` once the socket failed (with Cluster, a subscriber's socket); the connection must then be discarded.
    public var isBroken: Bool {
        switch link {
        case .node(let node): node.isBroken
        case .cluster(let cluster): cluster.isBroken
        }
    }

    /// `true` when the connection must not be used again: its socket failed, or (with Sentinel) a failover
    /// happened since it was opened, so the server it reached may be a replica now.
    public var isStale: Bool {
        switch link {
        case .node(let node): node.isStale
        case .cluster(let cluster): cluster.isBroken
        }
    }

    /// Sends one command and waits for its reply; error replies are thrown as ``RedisError/Code/server``.
    public func send(_ command: RedisCommand) throws(RedisError) -> RedisValue {
        let value = try pipeline([command])[0]
        if case .error(let message) = value { throw RedisError(.server, message) }
        return value
    }

    /// Sends a blocking command (BLMOVE, BLPOP, ...) whose server-side wait may last `blockMilliseconds`.
    public func sendBlocking(_ command: RedisCommand, blockMilliseconds: Int) throws(RedisError) -> RedisValue {
        switch link {
        case .node(let node): try node.sendBlocking(command, blockMilliseconds: blockMilliseconds)
        case .cluster(let cluster): try cluster.sendBlocking(command, blockMilliseconds: blockMilliseconds)
        }
    }

    /// Writes all commands in one go and reads their replies in order (error replies are returned, not thrown).
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        switch link {
        case .node(let node): try node.pipeline(commands)
        case .cluster(let cluster): try cluster.pipeline(commands)
        }
    }

    /// The socket, for a caller that waits on it with `poll(2)` (a pub/sub subscriber); with Cluster, an
    /// `epoll` descriptor that is readable when any node's socket is.
    public var fileDescriptor: Int32 {
        switch link {
        case .node(let node): node.fileDescriptor
        case .cluster(let cluster): cluster.fileDescriptor
        }
    }

    /// Sends commands without reading replies (subscriptions, whose confirmations arrive as pushes); with
    /// Cluster, each to the node that owns its channel's slot.
    public func write(_ commands: [RedisCommand]) throws(RedisError) {
        switch link {
        case .node(let node): try node.write(commands)
        case .cluster(let cluster): try cluster.write(commands)
        }
    }

    /// Reads what the socket has (call when `poll` says it is readable) and returns every complete reply or
    /// push in it; throws when the connection closed or failed (with Cluster, also when a channel's slot moved:
    /// the subscriber then subscribes again, where the slots are now).
    public func readAvailable() throws(RedisError) -> [RedisValue] {
        switch link {
        case .node(let node): try node.readAvailable()
        case .cluster(let cluster): try cluster.readAvailable()
        }
    }
}

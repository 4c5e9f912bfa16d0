import Synchronization

/// A set of idle connections that blocking callers borrow one at a time.
///
/// Connections are opened on demand, so the pool never blocks waiting for a free one, and a connection
/// that failed is dropped: the next borrower opens a fresh one, which is how the pool reconnects by itself
/// after Redis restarts.
public final class RedisConnectionPool: Sendable {
    /// Where the connections go.
    public let configuration: RedisConfiguration
    private let maxIdle: Int
    private let idle = Mutex<[RedisConnection]>([])
    private let onError: (@Sendable (RedisError) -> Void)?

    /// Creates an empty pool that keeps at most `maxIdle` idle connections; `onError` hears of every error a
    /// connection or a command through the pool meets (for a metric).
    public init(
        configuration: RedisConfiguration, maxIdle: Int = 16, onError: (@Sendable (RedisError) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.maxIdle = maxIdle
        self.onError = onError
    }

    /// Runs `body` with a connection of its own and returns the connection afterwards, unless it broke.
    public func withConnection<T>(_ body: (RedisConnection) throws(RedisError) -> T) throws(RedisError) -> T {
        do {
            let connection = try borrow()
            defer { giveBack(connection) }
            return try body(connection)
        } catch {
            onError?(error)
            throw error
        }
    }

    /// ``withConnection(_:)``, and once more on a fresh connection when the first one broke (a stale pooled
    /// connection after a Redis restart). Only for bodies that are safe to repeat.
    public func withConnectionRetryingOnce<T>(
        _ body: (RedisConnection) throws(RedisError) -> T
    ) throws(RedisError) -> T {
        do {
            return try withConnection(body)
        } catch  where error.code == .io {
            drain()
            return try withConnection(body)
        }
    }

    /// Closes every idle connection.
    public func drain() {
        idle.withLock { $0.removeAll() }
    }

    private func borrow() throws(RedisError) -> RedisConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            // A connection from before a failover may reach a replica now: drop it for a fresh one.
            if !connection.isStale { return connection }
        }
        return try RedisConnection(configuration: configuration)
    }

    private func giveBack(_ connection: RedisConnection) {
        guard !connection.isStale else { return }
        idle.withLock { connections in
            if connections.count < maxIdle { connections.append(connection) }
        }
    }
}

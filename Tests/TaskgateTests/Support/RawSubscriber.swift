import Glibc
import TaskgateCore
import TaskgateRedis

/// A connection subscribed to one event channel the way an outside client would (`SSUBSCRIBE`), for tests that
/// read what Redis itself publishes. `poll(2)` waits on its socket, so it belongs on a thread that may block.
final class RawSubscriber {
    /// Redis' confirmation of the subscription.
    let confirmation: RedisValue
    private let connection: RedisConnection
    private var replies: [RedisValue] = []

    /// Subscribes on `server` to `channel` and waits for the confirmation.
    init(server: RedisServer, channel: String) throws {
        connection = try server.connect()
        try connection.write([RedisCommand(EventChannelMode.current.subscribeCommand, channel)])
        while replies.isEmpty { try Self.read(connection, into: &replies) }
        confirmation = replies.removeFirst()
    }

    /// The next message Redis pushes, waiting up to 10 s for it.
    func next() throws -> RedisValue {
        while replies.isEmpty { try Self.read(connection, into: &replies) }
        return replies.removeFirst()
    }

    private static func read(_ connection: RedisConnection, into replies: inout [RedisValue]) throws {
        var fds = [pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0)]
        guard poll(&fds, 1, 10_000) == 1 else { throw TestFailure("nothing from Redis in 10 s") }
        replies += try connection.readAvailable()
    }
}

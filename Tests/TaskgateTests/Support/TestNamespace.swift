import Foundation
import TaskgateCore
import TaskgateRedis

/// A key prefix of the test's own on the shared Redis; ``cleanUp()`` deletes its keys and nothing else.
struct TestNamespace: Sendable {
    let server: RedisServer
    let keys: KeySpace

    init(server: RedisServer = .shared, function: String = #function) {
        self.server = server
        let name = function.prefix { $0.isLetter || $0.isNumber }.prefix(40)
        keys = KeySpace(prefix: "test-\(name)-\(UUID().uuidString.prefix(8).lowercased())")!
    }

    var pool: RedisConnectionPool { RedisConnectionPool(configuration: server.configuration) }

    var store: RedisTaskStore { RedisTaskStore(pool: pool, keys: keys) }

    /// Deletes every key under this prefix (SCAN + UNLINK, never FLUSHALL).
    func cleanUp() {
        guard let connection = try? server.connect() else { return }
        var cursor = "0"
        repeat {
            guard
                let reply = try? connection.send(
                    RedisCommand("SCAN", cursor, "MATCH", keys.prefix + ":*", "COUNT", 1000)),
                let parts = reply.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array
            else { return }
            cursor = next
            let names = found.compactMap(\.string)
            if !names.isEmpty { _ = try? connection.send(RedisCommand("UNLINK", names)) }
        } while cursor != "0"
    }

    /// Runs one command on a fresh connection.
    func redis(_ name: String, _ arguments: any RedisArgument...) throws -> RedisValue {
        try server.connect().send(RedisCommand(name, arguments))
    }
}

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

    /// The server's pool: connections are reused across calls and tests, never opened per call.
    var pool: RedisConnectionPool { server.pool }

    /// A store on the server's pool (cheap: no connection is opened until a call needs one).
    var store: RedisTaskStore { RedisTaskStore(pool: server.pool, keys: keys) }

    /// Deletes every key under this prefix (SCAN + UNLINK on every master, never FLUSHALL): one round trip per
    /// SCAN page for the UNLINKs, pipelined.
    func cleanUp() {
        let configuration = server.configuration
        let servers =
            configuration.cluster.map { cluster in
                cluster.map.masters.map { master in
                    var node = configuration
                    node.cluster = nil
                    node.host = master.host
                    node.port = master.port
                    return node
                }
            } ?? [configuration]
        for node in servers {
            // One server: a pooled connection. A cluster: each master on a connection of its own.
            if configuration.cluster == nil {
                try? server.pool.withConnection { connection throws(RedisError) in unlinkAll(on: connection) }
            } else if let connection = try? RedisConnection(configuration: node) {
                unlinkAll(on: connection)
            }
        }
    }

    private func unlinkAll(on connection: RedisConnection) {
        var cursor = "0"
        repeat {
            guard
                let reply = try? connection.send(
                    RedisCommand("SCAN", cursor, "MATCH", keys.prefix + ":*", "COUNT", 1000)),
                let parts = reply.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array
            else { break }
            cursor = next
            // One key per UNLINK (in a cluster one command may only name keys of one slot), all in one pipeline.
            let unlinks = found.compactMap(\.string).map { RedisCommand("UNLINK", $0) }
            if !unlinks.isEmpty { _ = try? connection.pipeline(unlinks) }
        } while cursor != "0"
    }

    /// Runs one command on a pooled connection.
    func redis(_ name: String, _ arguments: any RedisArgument...) throws -> RedisValue {
        let command = RedisCommand(name, arguments)
        return try server.pool.withConnection { connection throws(RedisError) in try connection.send(command) }
    }
}

extension TestNamespace {
    /// Redis' own clock in milliseconds (scripts take their time from Redis `TIME`).
    func redisClock() throws -> Int {
        let time = try redis("TIME").array ?? []
        return (time.first?.int ?? 0) * 1000 + (time.last?.int ?? 0) / 1000
    }

    /// Waits until Redis' clock has passed `milliseconds` (a lease deadline, a due time).
    func awaitRedisClock(past milliseconds: Int) async throws {
        try await eventually(timeout: 30, "Redis clock past \(milliseconds)") { try redisClock() > milliseconds }
    }

    /// The lease deadline of `id`, or `nil` when it holds no lease.
    func leaseDeadline(_ id: TaskID) throws -> Int? {
        try redis("ZSCORE", keys.leases(id.queue), id.rawValue).string.flatMap { Double($0) }.map { Int($0) }
    }
}

extension RedisTaskStore {
    /// Enqueues without an idempotency key and returns the new record (most tests need nothing more).
    func enqueue(_ submission: TaskSubmission) throws -> TaskRecord {
        guard case .created(let record) = try enqueue(submission, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
        else { throw TestFailure("enqueue without a key did not create a task") }
        return record
    }

    /// Claims with a lease of `leaseMilliseconds` (10 s unless a test needs it to run out).
    func claim(leaseMilliseconds: Int = 10_000, from queue: QueueName = .default) throws -> ClaimedTask? {
        try claim(from: queue, blockMilliseconds: 100, leaseMilliseconds: leaseMilliseconds)
    }
}

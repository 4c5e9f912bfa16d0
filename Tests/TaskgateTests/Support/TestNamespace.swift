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

    /// Deletes every key under this prefix (SCAN + UNLINK on every master, never FLUSHALL).
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
            guard let connection = try? RedisConnection(configuration: node) else { continue }
            var cursor = "0"
            repeat {
                guard
                    let reply = try? connection.send(
                        RedisCommand("SCAN", cursor, "MATCH", keys.prefix + ":*", "COUNT", 1000)),
                    let parts = reply.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array
                else { break }
                cursor = next
                // One key per UNLINK: in a cluster one command may only name keys of one slot.
                for name in found.compactMap(\.string) { _ = try? connection.send(RedisCommand("UNLINK", name)) }
            } while cursor != "0"
        }
    }

    /// Runs one command on a fresh connection.
    func redis(_ name: String, _ arguments: any RedisArgument...) throws -> RedisValue {
        try server.connect().send(RedisCommand(name, arguments))
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

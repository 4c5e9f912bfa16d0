import Foundation
import TaskgateRedis

/// A real Redis Sentinel deployment on loopback: a master, one replica and three sentinels (quorum 2), each a
/// `redis-server` of the test's own on a free port.
final class SentinelDeployment: Sendable {
    static let masterName = "taskgate-test"

    let master: RedisServer
    let replica: RedisServer
    let sentinelPorts: [Int]
    private let sentinels: [SpawnedProcess]
    private let directory: URL

    /// Starts the servers and waits until every sentinel knows the master and its replica (so a failover can
    /// promote it).
    init() throws {
        // No delay before a diskless full sync, so the replica is in step at once.
        master = RedisServer(settings: ["--repl-diskless-sync-delay", "0"])
        try master.start()
        replica = try master.startReplica()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-sentinel-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var ports: [Int] = []
        var started: [SpawnedProcess] = []
        for index in 0..<3 {
            let port = freePort()
            let file = directory.appendingPathComponent("sentinel-\(index).conf")
            // A sentinel rewrites its configuration file, so each gets one of its own.
            try """
            port \(port)
            bind 127.0.0.1
            dir \(directory.path)
            sentinel monitor \(Self.masterName) 127.0.0.1 \(master.port) 2
            sentinel down-after-milliseconds \(Self.masterName) 1000
            sentinel failover-timeout \(Self.masterName) 10000
            sentinel parallel-syncs \(Self.masterName) 1

            """.write(to: file, atomically: true, encoding: .utf8)
            started.append(
                try SpawnedProcess(
                    "/usr/bin/redis-server", [file.path, "--sentinel", "--loglevel", "warning"],
                    environment: ProcessInfo.processInfo.environment, outputPath: "/dev/null"))
            ports.append(port)
        }
        sentinels = started
        sentinelPorts = ports
        try waitUntilSentinelsKnowTheReplica()
    }

    /// `redis+sentinel://` naming all three sentinels.
    var url: String {
        "redis+sentinel://" + sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",") + "/\(Self.masterName)/0"
    }

    /// The master's port as the first sentinel that answers says.
    func masterPort() -> Int? {
        for port in sentinelPorts {
            guard
                let connection = try? RedisConnection(configuration: RedisConfiguration(host: "127.0.0.1", port: port)),
                let reply = try? connection.send(
                    RedisCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", Self.masterName)),
                let parts = reply.array, parts.count == 2, let text = parts[1].string, let port = Int(text)
            else { continue }
            return port
        }
        return nil
    }

    /// Asks a sentinel for a failover now (the master is demoted to a replica of the promoted one).
    func failover() throws {
        let connection = try RedisConnection(
            configuration: RedisConfiguration(host: "127.0.0.1", port: sentinelPorts[0]))
        _ = try connection.send(RedisCommand("SENTINEL", "FAILOVER", Self.masterName))
    }

    private func waitUntilSentinelsKnowTheReplica() throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let ready = sentinelPorts.allSatisfy { port in
                guard
                    let connection = try? RedisConnection(
                        configuration: RedisConfiguration(host: "127.0.0.1", port: port)),
                    let replicas = try? connection.send(RedisCommand("SENTINEL", "REPLICAS", Self.masterName)).array
                else { return false }
                return !replicas.isEmpty
            }
            if ready { return }
            usleep(100_000)
        }
        throw TestFailure("the sentinels did not learn of the replica within 30 s")
    }

    func stop() {
        for sentinel in sentinels {
            kill(sentinel.pid, SIGKILL)
            sentinel.waitUntilExit()
        }
        replica.stop()
        master.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension RedisServer {
    /// Starts a replica of this server and waits until it is in step: a `WAIT` for one replica on a write
    /// returns it.
    func startReplica() throws -> RedisServer {
        let replica = RedisServer(settings: ["--replicaof", "127.0.0.1", String(port)])
        try replica.start()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            // Listed online, a replica after a diskless sync is still not streamed to until its first
            // acknowledgement (up to a second later), so the probe is a write that WAIT sees replicated.
            let info = try? connect().send(RedisCommand("INFO", "replication")).string
            if info?.contains("port=\(replica.port),state=online") == true, let connection = try? connect(),
                (try? connection.send(RedisCommand("INCR", "taskgate-test-sync-probe"))) != nil,
                (try? connection.send(RedisCommand("WAIT", 1, 5000)))?.int == 1
            {
                return replica
            }
            usleep(50_000)
        }
        replica.stop()
        throw TestFailure("the replica of port \(port) did not get in step within 20 s")
    }
}

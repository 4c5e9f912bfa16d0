import Foundation
import TaskgateRedis

/// A real Redis Cluster on loopback: three masters, each with a replica (or none), created with
/// `redis-cli --cluster create` from `redis-server` processes of the test's own.
final class ClusterDeployment: Sendable {
    /// The masters as created (slots 0-5460, 5461-10922, 10923-16383), then their replicas.
    let nodes: [RedisServer]

    /// Starts the nodes, creates the cluster and waits until every node says it is ok and each replica is in step.
    init(replicas: Bool = true) throws {
        let count = replicas ? 6 : 3
        // A client port and a bus port per node, all different: ports found free one at a time may repeat.
        var ports: [Int] = []
        while ports.count < 2 * count {
            let port = freePort()
            if !ports.contains(port) { ports.append(port) }
        }
        nodes = (0..<count).map { index in
            RedisServer(
                settings: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                    // The bus port is the client port + 10000 unless given: past 65535 for a high free port.
                    "--cluster-port", String(ports[count + index]), "--repl-diskless-sync-delay", "0",
                ], port: ports[index])
        }
        for node in nodes { try node.start() }
        let create = try SpawnedProcess(
            "/usr/bin/redis-cli",
            ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
                + ["--cluster-replicas", replicas ? "1" : "0", "--cluster-yes"],
            environment: ProcessInfo.processInfo.environment, outputPath: "/dev/null")
        let status = create.waitUntilExit()
        guard status == 0 else {
            stop()
            throw TestFailure("redis-cli --cluster create failed with status \(status)")
        }
        try waitUntilOK()
    }

    /// `redis+cluster://` naming the three masters as seeds.
    var url: String {
        "redis+cluster://" + nodes.prefix(3).map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
    }

    /// Waits until every live node reports `cluster_state:ok` and knows a master for every slot, and each replica
    /// follows its master.
    func waitUntilOK(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let ok = nodes.allSatisfy { node in
                guard node.pid != nil else { return true }
                guard let connection = try? node.connect(),
                    let info = try? connection.send(RedisCommand("CLUSTER", "INFO")).string,
                    info.contains("cluster_state:ok"),
                    let replication = try? connection.send(RedisCommand("INFO", "replication")).string
                else { return false }
                return !replication.contains("role:slave") || replication.contains("master_link_status:up")
            }
            if ok { return }
            usleep(100_000)
        }
        throw TestFailure("the cluster was not ok within \(timeout) s")
    }

    /// The node id (`CLUSTER MYID`) of `node`.
    func id(of node: RedisServer) throws -> String {
        try node.connect().send(RedisCommand("CLUSTER", "MYID")).string ?? ""
    }

    /// The node that owns `slot` now, as a live node says.
    func owner(of slot: Int) throws -> RedisServer {
        for node in nodes where node.pid != nil {
            guard let ranges = try? node.connect().send(RedisCommand("CLUSTER", "SLOTS")).array else { continue }
            for range in ranges {
                guard let parts = range.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                    (start...end).contains(slot), let port = parts[2].array?[1].int,
                    let owner = nodes.first(where: { $0.port == port })
                else { continue }
                return owner
            }
        }
        throw TestFailure("no node owns slot \(slot)")
    }

    /// The first slot each master owns, lowest master first (what `redis-cli --cluster reshard` moves first).
    func firstSlots() throws -> [Int] {
        let ranges = try nodes[0].connect().send(RedisCommand("CLUSTER", "SLOTS")).array ?? []
        return ranges.compactMap { $0.array?.first?.int }.sorted()
    }

    func stop() {
        for node in nodes { node.stop() }
    }
}

/// A queue name whose hash tag lands on `slot` (found by trying `prefix0`, `prefix1`, ...).
func queueName(inSlot slot: Int, prefix: String) -> String {
    var index = 0
    while RedisKeySlot.slot(of: "\(prefix)\(index)") != slot { index += 1 }
    return "\(prefix)\(index)"
}

import CHiredis
import Glibc

/// A connection to a Redis Cluster: one ``RedisNodeConnection`` per node it has needed, each command sent to the
/// node that owns its key's slot, and the cluster's redirections followed.
///
/// - `MOVED`: the slot has a new owner; the map learns it and the command goes there.
/// - `ASK`: the slot is moving and this key already went; the command is sent once to the importing node
///   after `ASKING`. Not for a script that derives keys (``RedisCommand/followsAsk`` is false): it is retried
///   on the owner until the move ends, as `TRYAGAIN` is.
/// - `TRYAGAIN`, `CLUSTERDOWN`, and a script's "non local key" (a derived key moved already): retried with
///   backoff (10 ms doubling to 500 ms, about 3 s in all), then answered with the last error, which callers
///   treat as Redis being unavailable.
/// - A node that cannot be reached: its connection is dropped and the map read again before the next command
///   (a replica may have taken its slots over); the error goes to the caller, who retries.
///
/// Commands without a key go with their neighbours: `MULTI` with the next keyed command, `EXEC` with the one
/// before. A `WAIT` goes to every node that ran a command of the same pipeline call, and answers the least
/// count, so `--min-replicas` holds on each node written to.
final class RedisClusterConnection {
    private let configuration: RedisConfiguration
    private let map: RedisClusterMap
    private var nodes: [RedisEndpoint: RedisNodeConnection] = [:]
    private var epoll: Int32 = -1
    /// `true` once a subscriber's socket failed or its slots moved: subscriptions must be made again.
    private(set) var isBroken = false
    let endpoint: RedisEndpoint

    /// Reads the slot map if this process has none yet (so an unreachable cluster fails here, clearly).
    init(configuration: RedisConfiguration, settings: RedisClusterSettings) throws(RedisError) {
        self.configuration = configuration
        self.map = settings.map
        self.endpoint = settings.seeds[0]
        try map.refreshIfNeeded(configuration: configuration)
    }

    deinit {
        if epoll >= 0 { close(epoll) }
    }

    // MARK: - Commands

    func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        try map.refreshIfNeeded(configuration: configuration)
        var replies = [RedisValue?](repeating: nil, count: commands.count)
        let waits = commands.indices.filter { commands[$0].name.uppercased() == "WAIT" }
        var todo = commands.indices.filter { !waits.contains($0) }
        var touched: [RedisEndpoint] = []
        var pause = 10
        var rounds = 0
        while !todo.isEmpty {
            rounds += 1
            var again: [Int] = []
            var mustPause = false
            for (node, indices) in try route(todo, of: commands) {
                let answers = try send(indices.map { commands[$0] }, to: node)
                if !touched.contains(node) { touched.append(node) }
                for (index, answer) in zip(indices, answers) {
                    switch Redirection(answer) {
                    case nil:
                        replies[index] = answer
                    case .moved(let slot, let target)?:
                        map.moved(slot, to: target.resolved(against: node))
                        again.append(index)
                    case .ask(_, let target)? where commands[index].followsAsk:
                        let importing = target.resolved(against: node)
                        let asked = try send([RedisCommand("ASKING"), commands[index]], to: importing)
                        if !touched.contains(importing) { touched.append(importing) }
                        if Redirection(asked[1]) == nil {
                            replies[index] = asked[1]
                        } else {
                            replies[index] = asked[1]
                            again.append(index)
                            mustPause = true
                        }
                    case .ask?, .retry?:
                        replies[index] = answer
                        again.append(index)
                        mustPause = true
                    }
                }
            }
            if again.isEmpty || rounds >= 12 { break }
            todo = again
            if mustPause {
                usleep(UInt32(pause) * 1000)
                pause = min(500, pause * 2)
                try map.refreshIfNeeded(configuration: configuration)
            }
        }
        for index in waits {
            // Each node written to must have the replicas: the least count answers for all.
            var least: Int?
            for node in touched {
                let count = try send([commands[index]], to: node)[0].int ?? 0
                least = min(least ?? count, count)
            }
            replies[index] = .integer(least ?? 0)
        }
        return replies.map { $0 ?? .error("CLUSTERDOWN no node could be found for the command") }
    }

    func sendBlocking(_ command: RedisCommand, blockMilliseconds: Int) throws(RedisError) -> RedisValue {
        try map.refreshIfNeeded(configuration: configuration)
        for _ in 0..<3 {
            guard let (node, _) = try route([0], of: [command]).first else { break }
            let answer: RedisValue
            do {
                answer = try connection(to: node).sendBlocking(command, blockMilliseconds: blockMilliseconds)
            } catch {
                if error.isUnavailable { drop(node) }
                throw error
            }
            guard case .moved(let slot, let target)? = Redirection(answer) else { return answer }
            map.moved(slot, to: target.resolved(against: node))
            try map.refreshIfNeeded(configuration: configuration)
        }
        throw RedisError(.server, "TRYAGAIN the slot of \(command.name) kept moving")
    }

    /// Groups commands by the node that owns their slot, in order; a keyless command joins its neighbour.
    private func route(_ indices: [Int], of commands: [RedisCommand]) throws(RedisError) -> [(
        RedisEndpoint, [Int]
    )] {
        let slots = indices.map { commands[$0].slot }
        var groups: [(RedisEndpoint, [Int])] = []
        for (position, index) in indices.enumerated() {
            let name = commands[index].name.uppercased()
            var slot = slots[position]
            if slot == nil {
                // MULTI and the like go with the next keyed command; EXEC and the rest with the last one.
                let after = slots[(position + 1)...].lazy.compactMap { $0 }.first
                let before = slots[..<position].reversed().lazy.compactMap { $0 }.first
                slot = name == "MULTI" ? after ?? before : before ?? after
            }
            let node: RedisEndpoint
            if let slot { node = try owner(of: slot) } else { node = try anyNode() }
            if let last = groups.last, last.0 == node {
                groups[groups.count - 1].1.append(index)
            } else {
                groups.append((node, [index]))
            }
        }
        return groups
    }

    private func owner(of slot: Int) throws(RedisError) -> RedisEndpoint {
        if let owner = map.owner(of: slot) { return owner }
        map.invalidate()
        try map.refreshIfNeeded(configuration: configuration)
        guard let owner = map.owner(of: slot) else {
            throw RedisError(.connectionFailed, "no node of the cluster serves slot \(slot) (CLUSTERDOWN)")
        }
        return owner
    }

    private func anyNode() throws(RedisError) -> RedisEndpoint {
        if let open = nodes.keys.sorted().first { return open }
        guard let master = map.masters.first else {
            throw RedisError(.connectionFailed, "the cluster map has no node")
        }
        return master
    }

    private func send(_ commands: [RedisCommand], to node: RedisEndpoint) throws(RedisError) -> [RedisValue] {
        do {
            return try connection(to: node).pipeline(commands)
        } catch {
            drop(node)
            throw error
        }
    }

    private func connection(to node: RedisEndpoint) throws(RedisError) -> RedisNodeConnection {
        if let open = nodes[node], !open.isBroken { return open }
        let fresh = try RedisNodeConnection(configuration: configuration.node(node))
        nodes[node] = fresh
        return fresh
    }

    /// Forgets a node's connection after it failed, and reads the map again before the next command.
    private func drop(_ node: RedisEndpoint) {
        nodes[node] = nil
        map.invalidate()
    }

    // MARK: - Subscriptions

    /// An `epoll` descriptor over every node connection a subscription went to.
    var fileDescriptor: Int32 {
        if epoll < 0 { epoll = taskgate_epoll_create() }
        return epoll
    }

    func write(_ commands: [RedisCommand]) throws(RedisError) {
        guard !isBroken else { throw RedisError(.io, "the cluster subscriber must subscribe again") }
        do throws(RedisError) {
            try map.refreshIfNeeded(configuration: configuration)
            for command in commands {
                var targets = Array(nodes.keys)
                if let slot = command.slot { targets = [try owner(of: slot)] }
                for node in targets {
                    let open = try subscriberConnection(to: node)
                    try open.write([command])
                }
            }
        } catch {
            isBroken = true
            throw error
        }
    }

    func readAvailable() throws(RedisError) -> [RedisValue] {
        guard !isBroken else { throw RedisError(.io, "the cluster subscriber must subscribe again") }
        var values: [RedisValue] = []
        for (node, open) in nodes {
            var fds = [pollfd(fd: open.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 0) > 0 else { continue }
            do throws(RedisError) {
                for value in try open.readAvailable() {
                    if case .moved(let slot, let target)? = Redirection(value) {
                        // A subscription sent where the slot no longer is: subscribe again, all of them.
                        map.moved(slot, to: target.resolved(against: node))
                        isBroken = true
                        throw RedisError(.io, "slot \(slot) moved to \(target) while subscribing")
                    }
                    values.append(value)
                }
            } catch {
                isBroken = true
                map.invalidate()
                throw error
            }
        }
        return values
    }

    private func subscriberConnection(to node: RedisEndpoint) throws(RedisError) -> RedisNodeConnection {
        if let open = nodes[node] { return open }
        let fresh = try RedisNodeConnection(configuration: configuration.node(node))
        nodes[node] = fresh
        _ = taskgate_epoll_watch(fileDescriptor, fresh.fileDescriptor)
        return fresh
    }
}

/// What a cluster node's error reply asks the client to do instead, if anything.
enum Redirection: Equatable {
    /// The slot's owner is another node for good (`MOVED slot host:port`).
    case moved(Int, RedisEndpoint)
    /// The slot is moving and this key is on the importing node (`ASK slot host:port`).
    case ask(Int, RedisEndpoint)
    /// Try the same again shortly: `TRYAGAIN`, `CLUSTERDOWN`, or a script's key that moved already.
    case retry

    init?(_ value: RedisValue) {
        guard case .error(let message) = value else { return nil }
        if message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") {
            let parts = message.split(separator: " ")
            guard parts.count >= 3, let slot = Int(parts[1]) else { return nil }
            let target: RedisEndpoint
            if parts[2].hasPrefix(":"), let port = Int(parts[2].dropFirst()) {
                target = RedisEndpoint(host: "", port: port)  // a node that does not know its own address
            } else if let parsed = try? RedisEndpoint(parsing: parts[2], defaultPort: 6379, in: message) {
                target = parsed
            } else {
                return nil
            }
            self = message.hasPrefix("MOVED ") ? .moved(slot, target) : .ask(slot, target)
        } else if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN")
            || message.contains("attempted to access a non local key")
        {
            self = .retry
        } else {
            return nil
        }
    }
}

extension RedisEndpoint {
    /// The endpoint, with the host of `node` when a redirection named a port only (`:7001`).
    func resolved(against node: RedisEndpoint) -> RedisEndpoint {
        host.isEmpty ? RedisEndpoint(host: node.host, port: port) : self
    }
}

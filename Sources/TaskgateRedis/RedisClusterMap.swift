import Synchronization

/// Which node of a Redis Cluster owns which of the 16384 slots, learnt with `CLUSTER SLOTS` and corrected by
/// `MOVED` redirections.
///
/// A `MOVED` moves its one slot at once and marks the whole map for a new reading before the next command, as
/// does a node that cannot be reached (its replica may have been promoted); readings are at most one per
/// ``refreshIntervalMilliseconds`` unless the map is empty.
public final class RedisClusterMap: Sendable {
    private struct State {
        /// Index into `nodes` per slot, -1 where no node is known.
        var owners = [Int16](repeating: -1, count: RedisKeySlot.count)
        var nodes: [RedisEndpoint] = []
        var stale = true
        var readAt: ContinuousClock.Instant?
    }

    /// The least time between two readings of the map while it has any owner at all.
    public static let refreshIntervalMilliseconds = 100

    private let seeds: [RedisEndpoint]
    private let state = Mutex(State())

    init(seeds: [RedisEndpoint]) {
        self.seeds = seeds
    }

    /// The node that owns `slot`, if the map knows it.
    public func owner(of slot: Int) -> RedisEndpoint? {
        state.withLock { state in
            let index = Int(state.owners[slot])
            return index >= 0 ? state.nodes[index] : nil
        }
    }

    /// Every node that owns a slot (the masters).
    public var masters: [RedisEndpoint] {
        state.withLock { state in
            Set(state.owners.filter { $0 >= 0 }).sorted().map { state.nodes[Int($0)] }
        }
    }

    /// Records a `MOVED`: `slot` is `endpoint`'s now; the rest of the map is read again before long.
    func moved(_ slot: Int, to endpoint: RedisEndpoint) {
        state.withLock { state in
            state.owners[slot] = Self.index(of: endpoint, in: &state)
            state.stale = true
        }
    }

    /// Marks the map for a new reading (a node failed: a replica may take its slots over).
    func invalidate() {
        state.withLock { $0.stale = true }
    }

    /// Reads the map again when it is stale (at most once per interval) or empty.
    ///
    /// Cost: one connection and one `CLUSTER SLOTS` to the first node that answers.
    func refreshIfNeeded(configuration: RedisConfiguration) throws(RedisError) {
        let (due, known) = state.withLock { state -> (Bool, [RedisEndpoint]) in
            let empty = state.readAt == nil
            let recent =
                state.readAt.map {
                    ContinuousClock.now - $0 < .milliseconds(Self.refreshIntervalMilliseconds)
                } ?? false
            return ((state.stale && !recent) || empty, state.nodes)
        }
        guard due else { return }
        try refresh(configuration: configuration, asking: known + seeds.filter { !known.contains($0) })
    }

    private func refresh(configuration: RedisConfiguration, asking candidates: [RedisEndpoint]) throws(RedisError) {
        var failures: [String] = []
        for candidate in candidates {
            do {
                let connection = try RedisNodeConnection(configuration: configuration.node(candidate))
                let reply = try connection.send(RedisCommand("CLUSTER", "SLOTS"))
                guard let ranges = reply.array, !ranges.isEmpty else {
                    failures.append("\(candidate): no slots assigned")
                    continue
                }
                state.withLock { state in
                    var owners = [Int16](repeating: -1, count: RedisKeySlot.count)
                    for range in ranges {
                        // [start, end, [host, port, id, ...], replicas...]
                        guard let parts = range.array, parts.count >= 3, let start = parts[0].int,
                            let end = parts[1].int, let master = parts[2].array, master.count >= 2,
                            let port = master[1].int, (0...end).contains(start), end < RedisKeySlot.count
                        else { continue }
                        // An empty or unknown ("?") host means the address the node was reached at.
                        let host = master[0].string.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 } ?? candidate.host
                        let index = Self.index(of: RedisEndpoint(host: host, port: port), in: &state)
                        for slot in start...end { owners[slot] = index }
                    }
                    state.owners = owners
                    state.stale = false
                    state.readAt = .now
                }
                return
            } catch {
                failures.append("\(candidate): \(error.message)")
            }
        }
        throw RedisError(
            .connectionFailed, "no cluster node told its slots: \(failures.joined(separator: "; "))")
    }

    private static func index(of endpoint: RedisEndpoint, in state: inout State) -> Int16 {
        if let known = state.nodes.firstIndex(of: endpoint) { return Int16(known) }
        state.nodes.append(endpoint)
        return Int16(state.nodes.count - 1)
    }
}

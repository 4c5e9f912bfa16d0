import Dispatch
import Glibc
import Synchronization

/// Asks the sentinels where the master is, and counts failovers so that connections to a former master retire.
///
/// It follows the Sentinel client guidelines: sentinels are asked in turn until one names the master, and that
/// one is asked first next time; the named server must confirm with `ROLE` that it is the master (a connection
/// checks that). A thread subscribes to `+switch-master` on one sentinel; each switch of this master, and each
/// answer that names another address than the last, moves ``epoch`` on, and every connection opened under an
/// older epoch is then stale: pools and pipelines drop it instead of sending to a server that may now be a
/// replica. A connection that meets `READONLY` is dropped too, so a missed message costs one failed round.
public final class RedisSentinelMonitor: Sendable {
    private struct State {
        var order: [RedisEndpoint]
        var master: RedisEndpoint?
        var watching = false
    }

    private let masterName: String
    private let state: Mutex<State>
    private let failovers = Atomic<UInt64>(0)

    init(sentinels: [RedisEndpoint], masterName: String) {
        self.masterName = masterName
        self.state = Mutex(State(order: sentinels))
    }

    /// How many failovers this process has seen; connections remember it and are stale once it moves on.
    public var epoch: UInt64 { failovers.load(ordering: .acquiring) }

    /// The master's address as the first sentinel that knows it says; throws when none does.
    ///
    /// Cost: one connection and one `SENTINEL GET-MASTER-ADDR-BY-NAME` per sentinel asked.
    func master(for configuration: RedisConfiguration, settings: RedisSentinelSettings) throws(RedisError)
        -> RedisEndpoint
    {
        startWatching(configuration: configuration, settings: settings)
        let order = state.withLock { $0.order }
        var failures: [String] = []
        for sentinel in order {
            do {
                let connection = try RedisConnection(
                    configuration: Self.sentinelConfiguration(sentinel, configuration, settings))
                let reply = try connection.send(RedisCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName))
                guard let parts = reply.array, parts.count == 2, let host = parts[0].string,
                    let portText = parts[1].string, let port = Int(portText)
                else {
                    failures.append("\(sentinel): does not monitor a master named \(masterName)")
                    continue
                }
                let master = RedisEndpoint(host: host, port: port)
                let moved = state.withLock { state -> Bool in
                    state.order.removeAll { $0 == sentinel }
                    state.order.insert(sentinel, at: 0)
                    defer { state.master = master }
                    return state.master != nil && state.master != master
                }
                if moved { failovers.add(1, ordering: .acquiringAndReleasing) }
                return master
            } catch {
                failures.append("\(sentinel): \(error.message)")
            }
        }
        throw RedisError(
            .connectionFailed, "no sentinel named the master \(masterName): \(failures.joined(separator: "; "))")
    }

    /// Counts a failover that a connection found out about (the server it was sent to is no master now).
    func masterChanged() {
        state.withLock { $0.master = nil }
        failovers.add(1, ordering: .acquiringAndReleasing)
    }

    private static func sentinelConfiguration(
        _ sentinel: RedisEndpoint, _ configuration: RedisConfiguration, _ settings: RedisSentinelSettings
    ) -> RedisConfiguration {
        RedisConfiguration(
            host: sentinel.host, port: sentinel.port, password: settings.sentinelPassword,
            username: settings.sentinelUsername, database: 0,
            connectTimeoutMilliseconds: configuration.connectTimeoutMilliseconds,
            commandTimeoutMilliseconds: configuration.commandTimeoutMilliseconds)
    }

    /// Starts, once, the thread that listens for `+switch-master` (it lives as long as the process).
    private func startWatching(configuration: RedisConfiguration, settings: RedisSentinelSettings) {
        let first = state.withLock { state -> Bool in
            defer { state.watching = true }
            return !state.watching
        }
        guard first else { return }
        DispatchQueue(label: "taskgate.redis.sentinel-watch").async {
            self.watch(configuration: configuration, settings: settings)
        }
    }

    private func watch(configuration: RedisConfiguration, settings: RedisSentinelSettings) {
        var next = 0
        while true {
            let order = state.withLock { $0.order }
            let sentinel = order[next % order.count]
            next += 1
            do throws(RedisError) {
                let connection = try RedisConnection(
                    configuration: Self.sentinelConfiguration(sentinel, configuration, settings))
                try connection.write([RedisCommand("SUBSCRIBE", "+switch-master")])
                while true {
                    var fds = [pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0)]
                    guard poll(&fds, 1, 5_000) > 0 else {
                        try connection.write([RedisCommand("PING")])
                        continue
                    }
                    for value in try connection.readAvailable() {
                        // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
                        guard let parts = value.array, parts.count == 3, parts[0].string == "message",
                            let text = parts[2].string, text.split(separator: " ").first.map(String.init) == masterName
                        else { continue }
                        masterChanged()
                    }
                }
            } catch {
                // This sentinel is gone or restarting: listen to the next one after a pause.
                usleep(500_000)
            }
        }
    }
}

import Dispatch
import Glibc
import Logging
import Synchronization
import TaskgateCore
import TaskgateHTTP
import TaskgateRedis

/// The gateway's one Redis connection in subscribe mode: it subscribes to the event channels that have
/// listeners, and hands every message to ``EventHub``. One thread, polling the socket and a wake-up pipe.
///
/// A channel is subscribed while it has listeners (at most ``maxChannels``): ``retain(_:timeoutMilliseconds:)`` returns once Redis
/// confirmed the subscription, so what is published afterwards reaches the caller. When the connection
/// breaks, the subscriber reconnects (backing off up to 5 s), subscribes again and tells the hub to resync
/// each channel (events may have been missed in between). Every 15 s it pings Redis, which finds a dead
/// connection, and ticks the hub (stream keep-alives).
final class EventSubscriber: Sendable {
    private struct State {
        var wanted: [String: Int] = [:]
        /// Subscriptions sent on the current connection and not confirmed yet.
        var outstanding: [String: Int] = [:]
        var commands: [RedisCommand] = []
        var connected = false
        var stopped = false
        var waiters: [String: [DispatchSemaphore]] = [:]
        /// Channels to resync once their subscription is confirmed again after a reconnection.
        var resync: Set<String> = []
    }

    private let configuration: RedisConfiguration
    private let mode = EventChannelMode.current
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let onMessage: @Sendable (String, [UInt8]) -> Void
    private let onResync: @Sendable (String) -> Void
    private let onTick: @Sendable () -> Void
    private let finished = DispatchSemaphore(value: 0)
    /// The most channels subscribed at once: every stream, long-poll and queue of `GET /events` shares them.
    let maxChannels: Int
    /// The default of ``maxChannels``.
    static let defaultMaxChannels = 4_096
    /// Seconds between pings and hub ticks.
    static let tickSeconds = 15

    init(
        configuration: RedisConfiguration, logger: Logger, maxChannels: Int = EventSubscriber.defaultMaxChannels,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void,
        onResync: @escaping @Sendable (String) -> Void, onTick: @escaping @Sendable () -> Void
    ) {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "cannot create the subscriber's wake-up pipe")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
        self.maxChannels = max(1, maxChannels)
        self.configuration = configuration
        self.logger = logger
        self.onMessage = onMessage
        self.onResync = onResync
        self.onTick = onTick
    }

    func start() {
        DedicatedThread.start { self.run() }
    }

    /// Stops the thread and waits for it.
    func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        wake()
        finished.wait()
        close(wakeRead)
        close(wakeWrite)
    }

    /// Counts one more listener on each of `channels` and returns once every subscription is confirmed, or
    /// `false` after `timeoutMilliseconds` (Redis down): the counts stay until ``release(_:)`` either way. The
    /// subscriptions are sent together and confirmed together (one round trip for a stream of many queues). Also
    /// `false`, counting nothing, when the new channels would pass ``maxChannels`` (``isFull`` then says so).
    func retain(_ channels: [String], timeoutMilliseconds: Int) -> Bool {
        var waiting: [(channel: String, semaphore: DispatchSemaphore)] = []
        let limit = maxChannels
        let counted = state.withLock { state -> Bool in
            let new = Set(channels).filter { state.wanted[$0] == nil }
            guard state.wanted.count + new.count <= limit else { return false }
            for channel in channels {
                state.wanted[channel, default: 0] += 1
                if state.wanted[channel] == 1 && state.connected {
                    state.outstanding[channel, default: 0] += 1
                    state.commands.append(RedisCommand(mode.subscribeCommand, channel))
                }
            }
            for channel in Set(channels) where !Self.isConfirmed(channel, in: state) {
                let semaphore = DispatchSemaphore(value: 0)
                state.waiters[channel, default: []].append(semaphore)
                waiting.append((channel, semaphore))
            }
            return true
        }
        guard counted else { return false }
        if waiting.isEmpty { return true }
        wake()
        let deadline = DispatchTime.now() + .milliseconds(timeoutMilliseconds)
        var confirmed = true
        for (channel, semaphore) in waiting where semaphore.wait(timeout: deadline) != .success {
            confirmed = state.withLock { state in
                state.waiters[channel]?.removeAll { $0 === semaphore }
                return Self.isConfirmed(channel, in: state)
            }
            if !confirmed { break }
        }
        guard !confirmed else { return true }
        // Given up: no semaphore of this call stays behind.
        state.withLock { state in
            for (channel, semaphore) in waiting { state.waiters[channel]?.removeAll { $0 === semaphore } }
        }
        return false
    }

    /// `true` when ``maxChannels`` channels are subscribed (or wanted).
    var isFull: Bool {
        let limit = maxChannels
        return state.withLock { $0.wanted.count >= limit }
    }

    /// Counts one listener less on `channel`; the last one unsubscribes.
    func release(_ channel: String) {
        let changed = state.withLock { state -> Bool in
            guard let count = state.wanted[channel] else { return false }
            if count > 1 {
                state.wanted[channel] = count - 1
                return false
            }
            state.wanted[channel] = nil
            state.resync.remove(channel)
            guard state.connected else { return false }
            state.commands.append(RedisCommand(mode.unsubscribeCommand, channel))
            return true
        }
        if changed { wake() }
    }

    private static func isConfirmed(_ channel: String, in state: State) -> Bool {
        state.connected && (state.wanted[channel] ?? 0) > 0 && (state.outstanding[channel] ?? 0) == 0
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: - The subscriber thread

    private func run() {
        var connection: RedisConnection?
        var backoffMilliseconds = 100
        var everConnected = false
        var nextTick = ContinuousClock.now + .seconds(Self.tickSeconds)
        while !state.withLock({ $0.stopped }) {
            if connection == nil {
                do {
                    connection = try connect(resyncing: everConnected)
                    everConnected = true
                    backoffMilliseconds = 100
                } catch {
                    logger.warning("event subscriber cannot connect", metadata: ["error": "\(error)"])
                    waitForWake(milliseconds: backoffMilliseconds)
                    backoffMilliseconds = min(5_000, backoffMilliseconds * 2)
                    continue
                }
            }
            guard let current = connection else { continue }
            if current.isStale {
                // A failover since it subscribed: the server may be a replica now; subscribe on the new master.
                logger.info("event subscriber follows a failover", metadata: ["was": "\(current.endpoint)"])
                connection = nil
                continue
            }
            let untilTick = max(0, Int((nextTick - ContinuousClock.now) / .milliseconds(1)))
            var fds = [
                pollfd(fd: current.fileDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 2, Int32(untilTick))
            do {
                if fds[1].revents != 0 { drainWake() }
                let commands = state.withLock { state -> [RedisCommand] in
                    defer { state.commands = [] }
                    return state.commands
                }
                if ContinuousClock.now >= nextTick {
                    nextTick = ContinuousClock.now + .seconds(Self.tickSeconds)
                    try current.write(commands + [RedisCommand("PING")])
                    onTick()
                } else if !commands.isEmpty {
                    try current.write(commands)
                }
                if fds[0].revents != 0 {
                    for value in try current.readAvailable() { handle(value) }
                }
            } catch {
                logger.warning("event subscriber lost its connection", metadata: ["error": "\(error)"])
                connection = nil
                state.withLock { state in
                    state.connected = false
                    state.outstanding = [:]
                    state.commands = []
                }
            }
        }
        state.withLock { state in
            for semaphore in state.waiters.values.joined() { semaphore.signal() }
            state.waiters = [:]
        }
        finished.signal()
    }

    private func connect(resyncing: Bool) throws(RedisError) -> RedisConnection {
        let connection = try RedisConnection(configuration: configuration)
        let channels = state.withLock { state -> [String] in
            state.connected = true
            state.commands = []
            state.outstanding = [:]
            for channel in state.wanted.keys { state.outstanding[channel] = 1 }
            if resyncing { state.resync = Set(state.wanted.keys) }
            return Array(state.wanted.keys)
        }
        // One command per channel: in a Redis Cluster, one SSUBSCRIBE may only name channels of one slot.
        try connection.write(channels.map { RedisCommand(mode.subscribeCommand, $0) })
        if resyncing { logger.info("event subscriber reconnected", metadata: ["channels": "\(channels.count)"]) }
        return connection
    }

    private func handle(_ value: RedisValue) {
        guard let parts = value.array, parts.count == 3, let kind = parts[0].string, let channel = parts[1].string
        else { return }
        if kind == mode.messageKind, case .bulk(let payload) = parts[2] {
            onMessage(channel, payload)
        } else if kind == mode.subscribedKind {
            let (woken, resync) = state.withLock { state -> ([DispatchSemaphore], Bool) in
                if let count = state.outstanding[channel] {
                    state.outstanding[channel] = count > 1 ? count - 1 : nil
                }
                guard Self.isConfirmed(channel, in: state) else { return ([], false) }
                let woken = state.waiters.removeValue(forKey: channel) ?? []
                return (woken, state.resync.remove(channel) != nil)
            }
            woken.forEach { $0.signal() }
            if resync { onResync(channel) }
        } else if kind == mode.unsubscribedKind {
            // Redis ends a sharded subscription by itself when the channel's slot leaves the node (a cluster
            // reshard or failover): one still wanted is made again where the slot is now, and resynced.
            let again = state.withLock { state -> Bool in
                guard (state.wanted[channel] ?? 0) > 0, (state.outstanding[channel] ?? 0) == 0 else { return false }
                state.outstanding[channel] = 1
                state.resync.insert(channel)
                state.commands.append(RedisCommand(mode.subscribeCommand, channel))
                return true
            }
            if again {
                logger.info(
                    "event subscription ended by Redis (slot moved); subscribing again",
                    metadata: ["channel": "\(channel)"])
                wake()
            }
        }
    }

    private func waitForWake(milliseconds: Int) {
        var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        if poll(&fds, 1, Int32(milliseconds)) > 0 { drainWake() }
    }

    private func drainWake() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }
}

import Dispatch
import Glibc
import Logging
import Synchronization
import TaskgateCore
import TaskgateRedis

/// Listens on the cancellation channels of a worker's queues (``KeySpace/cancellations(_:)``: the id of each running task an
/// operator cancels), so a worker stops a cancelled task at once rather than at its next heartbeat (which would
/// stop it too: a cancelled task has no lease left to extend).
///
/// A channel of its own rather than the event channel: the scripts build and publish events only while someone
/// subscribes to them, and every worker subscribing would make every claim and completion pay for events.
/// One thread, one subscribed connection, reconnecting with backoff.
final class CancelWatcher: Sendable {
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let logger: Logger
    private let onCancel: @Sendable (TaskID) -> Void
    private let stopped = Atomic<Bool>(false)
    /// Whether the thread has ended, and who waits for it to (never a blocked thread: continuations).
    private let ending = Mutex<(ended: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(
        configuration: RedisConfiguration, channels: [String], logger: Logger,
        onCancel: @escaping @Sendable (TaskID) -> Void
    ) {
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        self.onCancel = onCancel
    }

    /// Starts the listening thread.
    func start() {
        DispatchQueue(label: "taskgate.worker.cancel-watcher").async { self.run() }
    }

    /// Tells the thread to stop listening, which it does within half a second; blocks nobody (a `defer` of
    /// async code may call it). ``waitUntilStopped()`` waits for the thread to end.
    func stop() {
        stopped.store(true, ordering: .releasing)
    }

    /// Stops listening and returns once the thread has closed its connection and ended.
    func waitUntilStopped() async {
        stop()
        await withCheckedContinuation { continuation in
            let ended = ending.withLock { state -> Bool in
                if !state.ended { state.waiters.append(continuation) }
                return state.ended
            }
            if ended { continuation.resume() }
        }
    }

    private func run() {
        let mode = EventChannelMode.current
        var connection: RedisConnection?
        var backoff = 100
        while !stopped.load(ordering: .acquiring) {
            if connection == nil {
                do {
                    let fresh = try RedisConnection(configuration: configuration)
                    // One command per channel: a sharded subscription names channels of one slot only.
                    try fresh.write(channels.map { RedisCommand(mode.subscribeCommand, $0) })
                    connection = fresh
                    backoff = 100
                } catch {
                    logger.debug("cancel watcher cannot subscribe, retrying", metadata: ["error": "\(error)"])
                    usleep(UInt32(backoff) * 1000)
                    backoff = min(5_000, backoff * 2)
                    continue
                }
            }
            guard let current = connection, !current.isStale else {
                connection = nil  // a failover since it subscribed: subscribe on the new master
                continue
            }
            var fds = [pollfd(fd: current.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 500) > 0 else { continue }
            do {
                for value in try current.readAvailable() {
                    if value.array?.first?.string == mode.unsubscribedKind {
                        // Redis ended the subscription itself (the channel's slot moved): subscribe again.
                        throw RedisError(.io, "subscription ended by Redis")
                    }
                    guard let parts = value.array, parts.count == 3, parts[0].string == mode.messageKind,
                        case .bulk(let payload) = parts[2]
                    else { continue }
                    if let id = TaskID(String(decoding: payload, as: UTF8.self)) { onCancel(id) }
                }
            } catch {
                logger.debug("cancel watcher lost its connection", metadata: ["error": "\(error)"])
                connection = nil
            }
        }
        connection = nil
        let waiters = ending.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.ended = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

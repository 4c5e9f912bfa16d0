import Logging
import Synchronization
import TaskgateCore
import TaskgateRedis

/// Fans task events out from one Redis subscriber connection to every stream and waiting request of the
/// gateway: no thread or Redis connection per client.
///
/// Listeners register for one task or a whole queue; the queue's channel is subscribed while any listener
/// of it is registered. A message is parsed only when its channel has listeners, and each event goes to the
/// listeners of its task and of its queue. Cost per event: one dictionary lookup per channel and per task.
public final class EventHub: Sendable {
    /// A registration, to give back with ``unregister(_:)``.
    struct Registration: Sendable, Hashable {
        let channel: String
        /// The task id (or, on the batches' channel, the batch id) listened to; `nil` for a whole queue.
        let task: String?
        let listener: ObjectIdentifier
    }

    private struct Channel {
        var all: [ObjectIdentifier: any EventListener] = [:]
        /// Keyed by the id as text, as it is read off an event line.
        var tasks: [String: [ObjectIdentifier: any EventListener]] = [:]
        var isEmpty: Bool { all.isEmpty && tasks.isEmpty }
    }

    private struct State {
        var channels: [String: Channel] = [:]
        var stopping = false
    }

    private let keys: KeySpace
    private let state = Mutex(State())
    private let subscriber = Mutex<EventSubscriber?>(nil)
    /// How long a registration waits for Redis to confirm a subscription.
    let subscribeTimeoutMilliseconds: Int

    /// Creates the hub; ``start()`` connects its subscriber.
    public init(redis: RedisConfiguration, keys: KeySpace, logger: Logger) {
        self.keys = keys
        self.subscribeTimeoutMilliseconds = max(1_000, redis.commandTimeoutMilliseconds)
        let created = EventSubscriber(
            configuration: redis, logger: logger,
            onMessage: { [weak self] channel, message in self?.deliver(channel: channel, message: message) },
            onResync: { [weak self] channel in self?.listeners(of: channel).forEach { $0.resync() } },
            onTick: { [weak self] in self?.allListeners().forEach { $0.tick() } })
        subscriber.withLock { $0 = created }
    }

    /// Starts the subscriber thread.
    public func start() {
        subscriber.withLock { $0 }?.start()
    }

    /// Ends every stream and waiting request, then stops the subscriber.
    public func stop() {
        let listeners = state.withLock { state -> [any EventListener] in
            state.stopping = true
            return state.channels.values.flatMap { Array($0.all.values) + $0.tasks.values.flatMap(\.values) }
        }
        listeners.forEach { $0.close() }
        subscriber.withLock { $0 }?.stop()
    }

    /// `true` once ``stop()`` began: new listeners are refused.
    var isStopping: Bool { state.withLock { $0.stopping } }

    /// Registers `listener` for the events of `task`, or of all of `queue` when `task` is nil, and returns
    /// once the subscription is live; `nil` when Redis did not confirm it in time, the gateway subscribes to as
    /// many channels as it may (``isFull``), or the hub is stopping (nothing stays registered then).
    func register(_ listener: any EventListener, queue: QueueName, task: TaskID?) -> Registration? {
        register(listener, [(queue, task)])?.first
    }

    /// Registers `listener` for every event of each of `queues` at once: the subscriptions are sent together
    /// and confirmed together. `nil` as for one (nothing stays registered then).
    func register(_ listener: any EventListener, queues: [QueueName]) -> [Registration]? {
        register(listener, queues.map { ($0, nil) })
    }

    /// Registers `listener` for the events of batch `id` (``BatchEvent``s, on the batches' one channel), and
    /// returns once the subscription is live; `nil` as for a task.
    func register(_ listener: any EventListener, batch id: String) -> Registration? {
        register(
            listener, [Registration(channel: keys.batchEvents, task: id, listener: ObjectIdentifier(listener))])?
            .first
    }

    private func register(_ listener: any EventListener, _ targets: [(QueueName, TaskID?)]) -> [Registration]? {
        register(
            listener,
            targets.map { queue, task in
                Registration(channel: keys.events(queue), task: task?.rawValue, listener: ObjectIdentifier(listener))
            })
    }

    private func register(_ listener: any EventListener, _ registrations: [Registration]) -> [Registration]? {
        let added = state.withLock { state -> Bool in
            guard !state.stopping else { return false }
            for registration in registrations {
                if let task = registration.task {
                    state.channels[registration.channel, default: Channel()].tasks[task, default: [:]][
                        registration.listener] = listener
                } else {
                    state.channels[registration.channel, default: Channel()].all[registration.listener] = listener
                }
            }
            return true
        }
        guard added, let subscriber = subscriber.withLock({ $0 }) else { return nil }
        guard subscriber.retain(registrations.map(\.channel), timeoutMilliseconds: subscribeTimeoutMilliseconds)
        else {
            registrations.forEach(unregister)
            return nil
        }
        return registrations
    }

    /// `true` when the gateway subscribes to as many channels as it may: new streams are refused.
    var isFull: Bool { subscriber.withLock { $0 }?.isFull ?? false }

    /// Removes a registration (again is harmless).
    func unregister(_ registration: Registration) {
        let removed = state.withLock { state -> Bool in
            guard var channel = state.channels[registration.channel] else { return false }
            let removed: Bool
            if let task = registration.task {
                removed = channel.tasks[task]?.removeValue(forKey: registration.listener) != nil
                if channel.tasks[task]?.isEmpty == true { channel.tasks[task] = nil }
            } else {
                removed = channel.all.removeValue(forKey: registration.listener) != nil
            }
            state.channels[registration.channel] = channel.isEmpty ? nil : channel
            return removed
        }
        if removed { subscriber.withLock { $0 }?.release(registration.channel) }
    }

    /// Open registrations (streams and long-polls), for tests and metrics.
    public var registrationCount: Int {
        state.withLock { state in
            state.channels.values.reduce(0) { $0 + $1.all.count + $1.tasks.values.reduce(0) { $0 + $1.count } }
        }
    }

    /// Hands each event of a message to its listeners. A line is parsed only when someone listens to it: with
    /// task streams open on a busy queue, most events concern no one, and their id is read without parsing.
    /// One lock per message; nothing is allocated for a line no one listens to.
    private func deliver(channel: String, message: [UInt8]) {
        if channel == keys.batchEvents { return deliverBatch(message) }
        var matches: [(line: ArraySlice<UInt8>, parsed: TaskEvent?, listeners: [any EventListener])] = []
        var queueEvents: [(line: ArraySlice<UInt8>, listeners: [any EventListener])] = []
        state.withLock { state in
            guard let entry = state.channels[channel] else { return }
            for line in message.split(separator: UInt8(ascii: "\n")) {
                if QueueEvent.isQueueEvent(line) {
                    // A queue's own event (pause, resume, limits): for the queue's listeners only.
                    if !entry.all.isEmpty { queueEvents.append((line, Array(entry.all.values))) }
                    continue
                }
                var parsed: TaskEvent?
                var id = TaskEvent.leadingID(line)
                if id == nil {
                    parsed = TaskEvent(json: Array(line))
                    id = parsed?.id.rawValue
                }
                guard let id else { continue }
                let forTask = entry.tasks[id]
                if entry.all.isEmpty && forTask == nil { continue }
                matches.append((line, parsed, Array(entry.all.values) + Array(forTask?.values ?? [:].values)))
            }
        }
        for match in matches {
            guard let event = match.parsed ?? TaskEvent(json: Array(match.line)) else { continue }
            match.listeners.forEach { $0.receive(event) }
        }
        for match in queueEvents {
            guard let event = QueueEvent(json: Array(match.line)) else { continue }
            match.listeners.forEach { $0.receive(queueEvent: event) }
        }
    }

    /// Hands each batch event of a message to the listeners of its batch.
    private func deliverBatch(_ message: [UInt8]) {
        var matches: [(line: ArraySlice<UInt8>, listeners: [any EventListener])] = []
        state.withLock { state in
            guard let entry = state.channels[keys.batchEvents] else { return }
            for line in message.split(separator: UInt8(ascii: "\n")) {
                guard let id = BatchEvent.leadingID(line), let listeners = entry.tasks[id] else { continue }
                matches.append((line, Array(listeners.values)))
            }
        }
        for match in matches {
            guard let event = BatchEvent(json: Array(match.line)) else { continue }
            match.listeners.forEach { $0.receive(batchEvent: event) }
        }
    }

    private func listeners(of channel: String) -> [any EventListener] {
        state.withLock { state in
            guard let entry = state.channels[channel] else { return [] }
            return Array(entry.all.values) + entry.tasks.values.flatMap(\.values)
        }
    }

    private func allListeners() -> [any EventListener] {
        state.withLock { state in
            state.channels.values.flatMap { Array($0.all.values) + $0.tasks.values.flatMap(\.values) }
        }
    }
}

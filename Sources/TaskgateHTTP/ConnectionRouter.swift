import CMicroHTTPD
import Dispatch
import Glibc
import Logging
import Synchronization

/// Accepts the server's connections and hands each to one of two libmicrohttpd daemons, by the start of its
/// request line: streams and long-polls to one, every other request to the other.
///
/// Why two: libmicrohttpd 0.9.75 walks every suspended connection of a daemon each time it resumes one. Open
/// streams and long-polls are suspended connections; on the daemon that also answers `POST /tasks` (which
/// suspends while its batch is in Redis) a thousand of them taxed every enqueue. On a daemon of their own they
/// tax only each other.
///
/// A new connection waits here, unread, until its method and target have arrived (peeked with `MSG_PEEK`:
/// libmicrohttpd still reads and parses the whole request itself), at most ``decisionWait``; a client that says
/// nothing by then goes to the general daemon, whose timeouts apply as before. The router also keeps the
/// connection caps across both daemons: at the total cap it stops accepting, so new clients wait in the
/// kernel's backlog, until a connection closes; over the per-address cap a new connection is closed at once.
/// All of it runs on one thread of its own; nothing here is on a request's path once it is handed over.
final class ConnectionRouter: Sendable {
    /// Which daemon gets a connection.
    enum Destination: Sendable {
        /// The daemon for short requests.
        case general
        /// The daemon for streams and long-polls.
        case longLived
    }

    /// Gives a connection to a daemon; returns false when the daemon refused it (and closed it).
    typealias HandOff =
        @Sendable (_ descriptor: Int32, _ destination: Destination, _ address: UnsafePointer<sockaddr>, _ length: socklen_t)
        -> Bool

    /// How long a silent new connection may wait for its request line before it goes to the general daemon.
    static let decisionWait: Duration = .seconds(1)
    /// Bytes peeked for the method and target; a longer target goes to the general daemon unclassified.
    static let peekBytes = 2048

    private let limit: Int
    private let limitPerAddress: Int
    private let logger: Logger
    private let counts = Mutex(Counts())
    private let stopping = Atomic<Bool>(false)
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)
    private let running = Atomic<Bool>(false)

    private struct Counts {
        var open = 0
        var perAddress: [AddressKey: Int] = [:]
        /// The loop stopped accepting at the cap and waits for a close to wake it.
        var paused = false
    }

    /// Creates a router for at most `limit` connections at once, `limitPerAddress` from one address (0: no limit).
    init(limit: Int, limitPerAddress: Int, logger: Logger) {
        self.limit = max(1, limit)
        self.limitPerAddress = limitPerAddress
        self.logger = logger
        var fds: [Int32] = [-1, -1]
        let made = taskgate_wake_pipe(&fds)
        precondition(made == 0, "cannot create the router's wake pipe: \(String(cString: strerror(errno)))")
        wake = (fds[0], fds[1])
    }

    deinit {
        // Only here: libmicrohttpd's close notifications may write to the pipe until its daemons have stopped.
        close(wake.read)
        close(wake.write)
    }

    /// Starts accepting on `listener` on a thread of its own; `classify` picks the daemon from a request line.
    func start(
        listener: ListeningSocket, classify: @escaping @Sendable (RequestLineStart) -> Destination,
        handOff: @escaping HandOff
    ) {
        running.store(true, ordering: .sequentiallyConsistent)
        DedicatedThread.start { [self] in
            loop(listener: listener, classify: classify, handOff: handOff)
            finished.signal()
        }
    }

    /// Closes the listener and every connection not yet handed over, and returns once the loop has ended.
    func stop() {
        guard running.exchange(false, ordering: .sequentiallyConsistent) else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        signalWake()
        finished.wait()
    }

    /// Called (by libmicrohttpd's close notification) when a handed-over connection from `address` closed.
    func connectionClosed(from address: UnsafePointer<sockaddr>?) {
        release(address.flatMap(AddressKey.init))
    }

    // MARK: - Counting

    private enum Admission { case admitted, overAddressLimit }

    private func admit(_ key: AddressKey?) -> Admission {
        counts.withLock { counts in
            if let key, limitPerAddress > 0, counts.perAddress[key, default: 0] >= limitPerAddress {
                return .overAddressLimit
            }
            counts.open += 1
            if let key { counts.perAddress[key, default: 0] += 1 }
            return .admitted
        }
    }

    private func release(_ key: AddressKey?) {
        let wasPaused = counts.withLock { counts in
            counts.open -= 1
            if let key, let held = counts.perAddress[key] {
                counts.perAddress[key] = held > 1 ? held - 1 : nil
            }
            return counts.paused
        }
        if wasPaused { signalWake() }
    }

    private var isFull: Bool { counts.withLock { $0.open >= limit } }

    /// Whether the loop should stop accepting; marks it paused (under the same lock a close checks) when so.
    private func pauseIfFull() -> Bool {
        counts.withLock { counts in
            counts.paused = counts.open >= limit
            return counts.paused
        }
    }

    private func signalWake() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    // MARK: - The loop

    private struct Pending {
        var address: sockaddr_storage
        var length: socklen_t
        var key: AddressKey?
        var deadline: ContinuousClock.Instant
    }

    private func loop(
        listener: ListeningSocket, classify: @Sendable (RequestLineStart) -> Destination, handOff: HandOff
    ) {
        let poller = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(poller >= 0, "cannot create the router's epoll: \(String(cString: strerror(errno)))")
        var pending: [Int32: Pending] = [:]
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        var peeked = [UInt8](repeating: 0, count: Self.peekBytes)
        var listening = false
        var acceptPausedUntil: ContinuousClock.Instant? = nil

        func watch(_ descriptor: Int32, _ flags: UInt32) {
            var event = epoll_event()
            event.events = flags
            event.data.fd = descriptor
            _ = epoll_ctl(poller, EPOLL_CTL_ADD, descriptor, &event)
        }
        func unwatch(_ descriptor: Int32) {
            _ = epoll_ctl(poller, EPOLL_CTL_DEL, descriptor, nil)
        }
        func drop(_ descriptor: Int32) {
            guard let connection = pending.removeValue(forKey: descriptor) else { return }
            unwatch(descriptor)
            close(descriptor)
            release(connection.key)
        }
        func hand(_ descriptor: Int32, to destination: Destination) {
            guard var connection = pending.removeValue(forKey: descriptor) else { return }
            unwatch(descriptor)
            let length = connection.length
            let taken = withUnsafePointer(to: &connection.address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { handOff(descriptor, destination, $0, length) }
            }
            // Refused, the daemon has closed the socket already; it will send no close notification for it.
            if !taken { release(connection.key) }
        }
        func acceptAll() {
            while !isFull {
                var address = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let descriptor = withUnsafeMutablePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        taskgate_accept(listener.descriptor, $0, &length)
                    }
                }
                guard descriptor >= 0 else {
                    switch errno {
                    case EINTR, ECONNABORTED: continue
                    case EAGAIN, EWOULDBLOCK: return
                    default:
                        // Out of descriptors or memory: stop accepting a moment rather than spin on the listener.
                        logger.warning("accept failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                        acceptPausedUntil = .now + .milliseconds(100)
                        return
                    }
                }
                let key = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { AddressKey($0) }
                }
                guard admit(key) == .admitted else {
                    close(descriptor)
                    continue
                }
                pending[descriptor] = Pending(
                    address: address, length: length, key: key, deadline: .now + Self.decisionWait)
                // Edge-triggered: a peek leaves the bytes unread, so level-triggered would report them again
                // and again while the rest of the request line is on its way.
                watch(descriptor, EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
            }
        }
        func examine(_ descriptor: Int32) {
            let count = peeked.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            }
            if count == 0 { return drop(descriptor) }  // closed before sending a request
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                return drop(descriptor)
            }
            let peek = peeked.withUnsafeBytes {
                RequestLineStart.peek(UnsafeRawBufferPointer(rebasing: $0[0..<count]), moreMayCome: count < $0.count)
            }
            switch peek {
            case .incomplete: return
            case .unreadable: hand(descriptor, to: .general)
            case .line(let line): hand(descriptor, to: classify(line))
            }
        }

        watch(wake.read, EPOLLIN.rawValue)
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let now = ContinuousClock.now
            if let until = acceptPausedUntil, until <= now { acceptPausedUntil = nil }
            let shouldListen = acceptPausedUntil == nil && !pauseIfFull()
            if shouldListen != listening {
                if shouldListen { watch(listener.descriptor, EPOLLIN.rawValue) } else { unwatch(listener.descriptor) }
                listening = shouldListen
            }
            var timeout: Int32 = -1
            if let next = pending.values.map(\.deadline).min() { timeout = Self.milliseconds(until: next, from: now) }
            if let until = acceptPausedUntil { timeout = min(max(timeout, 0), Self.milliseconds(until: until, from: now)) }
            // At the cap a close wakes the loop; the periodic look is only a backstop.
            if !listening, timeout < 0 || timeout > 1000 { timeout = 1000 }

            let ready = epoll_wait(poller, &events, Int32(events.count), timeout)
            if ready < 0 && errno != EINTR {
                logger.error("the connection router stopped", metadata: ["error": "\(String(cString: strerror(errno)))"])
                break
            }
            for index in 0..<max(0, Int(ready)) {
                let descriptor = events[index].data.fd
                if descriptor == wake.read {
                    var sink = [UInt8](repeating: 0, count: 64)
                    while read(wake.read, &sink, sink.count) > 0 {}
                } else if descriptor == listener.descriptor {
                    acceptAll()
                } else if pending[descriptor] != nil {
                    examine(descriptor)
                }
            }
            let checked = ContinuousClock.now
            for (descriptor, connection) in pending where connection.deadline <= checked {
                hand(descriptor, to: .general)
            }
        }
        close(listener.descriptor)
        for descriptor in Array(pending.keys) { drop(descriptor) }
        close(poller)
    }

    private static func milliseconds(until deadline: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int32 {
        let left = deadline - now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(min(60_000, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }
}

/// A client's IP address, as a key for the per-address connection count.
private struct AddressKey: Hashable, Sendable {
    let family: sa_family_t
    let high: UInt64
    let low: UInt64

    init?(_ address: UnsafePointer<sockaddr>) {
        family = address.pointee.sa_family
        switch Int32(family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(address).load(as: sockaddr_in.self)
            high = 0
            low = UInt64(v4.sin_addr.s_addr)
        case AF_INET6:
            let v6 = UnsafeRawPointer(address).load(as: sockaddr_in6.self)
            let bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
            high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
        default:
            return nil
        }
    }
}

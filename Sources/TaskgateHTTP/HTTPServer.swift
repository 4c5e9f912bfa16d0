import CMicroHTTPD
import Glibc
import Logging
import Synchronization

/// An HTTP/1.1 server on libmicrohttpd that hands complete requests to an ``HTTPResponder``.
///
/// The server owns its listening socket; a ``ConnectionRouter`` accepts and gives each connection to one of two
/// libmicrohttpd daemons: connections the responder says stay open (streams, long-polls) to a daemon of their
/// own, all others to the general one, whose pool of epoll threads answers them. The responder is called on
/// the daemons' threads, and may answer at once or later through an ``HTTPReply`` (the connection is suspended
/// meanwhile, holding no thread). Bodies are bounded by ``HTTPServerConfiguration/maxBodyBytes`` while they
/// arrive, never after.
public final class HTTPServer: Sendable {
    /// How the server listens.
    public let configuration: HTTPServerConfiguration
    /// Who answers requests.
    public let responder: any HTTPResponder
    /// The bytes held for clients at once, bodies and streams alike.
    public let budget: MemoryBudget
    let logger: Logger
    let router: ConnectionRouter
    private let daemons = Mutex<Daemons?>(nil)
    private let inFlight = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let boundPort = Atomic<Int>(0)

    /// Creates a server; nothing listens until ``start()``.
    /// `budget` is shared with the responder's streams; by default one of the configured size.
    public init(
        configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger,
        budget: MemoryBudget? = nil
    ) {
        self.configuration = configuration
        self.responder = responder
        self.budget = budget ?? MemoryBudget(limit: configuration.maxInflightBodyBytes)
        self.logger = logger
        self.router = ConnectionRouter(
            limit: configuration.connectionLimit, limitPerAddress: configuration.connectionLimitPerIP, logger: logger)
    }

    /// The port the server is bound to, once started (useful when the configuration asked for port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// `true` once ``stop()`` began: responses then carry `Connection: close`.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Binds and starts serving.
    public func start() throws(HTTPServerError) {
        let listener = try ListeningSocket.open(SocketAddress(host: configuration.host, port: configuration.port))
        MemoryBudget.keepLargeAllocationsReturnable()
        let context = Unmanaged.passRetained(self).toOpaque()
        guard let general = startDaemon(threads: configuration.threads, context: context) else {
            close(listener.descriptor)
            Unmanaged<HTTPServer>.fromOpaque(context).release()
            throw HTTPServerError(.startFailed, "libmicrohttpd did not start")
        }
        // One thread: the daemon mostly holds suspended connections and writes their events.
        guard let longLived = startDaemon(threads: 1, context: context) else {
            MHD_stop_daemon(general)
            close(listener.descriptor)
            Unmanaged<HTTPServer>.fromOpaque(context).release()
            throw HTTPServerError(.startFailed, "libmicrohttpd did not start")
        }
        let handles = Daemons(general: general, longLived: longLived, context: context)
        boundPort.store(listener.port, ordering: .releasing)
        daemons.withLock { $0 = handles }
        let responder = responder
        router.start(
            listener: listener,
            classify: { line in
                responder.keepsConnectionOpen(method: line.method, target: line.target) ? .longLived : .general
            },
            handOff: { descriptor, destination, address, length in
                let daemon = destination == .longLived ? handles.longLived : handles.general
                return MHD_add_connection(daemon, descriptor, address, length) == .YES
            })
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
    }

    /// One libmicrohttpd daemon without a listener of its own: the router hands it connections.
    private func startDaemon(threads: Int, context: UnsafeMutableRawPointer) -> OpaquePointer? {
        let flags =
            MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_NO_LISTEN_SOCKET.rawValue
        let threads = max(1, threads)
        var options: [MHD_OptionItem] = [
            MHD_OptionItem(option: .THREAD_POOL_SIZE, value: threads, ptr_value: nil),
            MHD_OptionItem(option: .CONNECTION_TIMEOUT, value: configuration.connectionTimeoutSeconds, ptr_value: nil),
            // The router keeps the real caps across both daemons. libmicrohttpd splits its own limit between its
            // threads and would refuse a connection the router admitted when they are unevenly loaded, so it gets
            // room for every connection on each thread.
            MHD_OptionItem(option: .CONNECTION_LIMIT, value: configuration.connectionLimit * threads, ptr_value: nil),
            MHD_OptionItem(
                option: .CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryLimitBytes, ptr_value: nil),
            MHD_OptionItem(
                option: .NOTIFY_COMPLETED, value: unsafeBitCast(MHDCallbacks.completed, to: Int.self),
                ptr_value: context),
            MHD_OptionItem(
                option: .NOTIFY_CONNECTION, value: unsafeBitCast(MHDCallbacks.connectionChanged, to: Int.self),
                ptr_value: context),
            MHD_OptionItem(option: .END, value: 0, ptr_value: nil),
        ]
        return options.withUnsafeMutableBufferPointer { items in
            taskgate_mhd_start(flags, 0, MHDCallbacks.access, context, items.baseAddress)
        }
    }

    /// Stops accepting, waits up to the drain timeout for requests in flight to be answered, then stops.
    public func stop() {
        guard
            let handles = daemons.withLock({ current -> Daemons? in
                defer { current = nil }
                return current
            })
        else { return }
        stopping.store(true, ordering: .relaxed)
        router.stop()
        let deadline = ContinuousClock.now + .milliseconds(Int(configuration.drainTimeoutSeconds * 1000))
        while inFlight.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        let abandoned = inFlight.load(ordering: .acquiring)
        if abandoned > 0 {
            logger.warning("stopping with requests still open", metadata: ["open": "\(abandoned)"])
        }
        MHD_stop_daemon(handles.longLived)
        MHD_stop_daemon(handles.general)
        Unmanaged<HTTPServer>.fromOpaque(handles.context).release()
        logger.info("stopped")
    }

    func requestStarted() {
        inFlight.add(1, ordering: .relaxed)
    }

    func requestFinished() {
        inFlight.subtract(1, ordering: .releasing)
    }
}

/// The running daemons and the retained context pointer handed to their callbacks.
private struct Daemons: @unchecked Sendable {
    // @unchecked: all three are opaque C handles. The router's hand-off reads the daemon pointers (which
    // MHD_add_connection may be given from any thread) until HTTPServer.stop() has stopped the router; only
    // then does stop() stop the daemons and release the context, once, after taking them out of the mutex.
    let general: OpaquePointer
    let longLived: OpaquePointer
    let context: UnsafeMutableRawPointer
}

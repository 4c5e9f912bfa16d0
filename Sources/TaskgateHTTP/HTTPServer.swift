import CMicroHTTPD
import Glibc
import Logging
import Synchronization

/// An HTTP/1.1 server on libmicrohttpd that hands complete requests to an ``HTTPResponder``.
///
/// libmicrohttpd runs a pool of epoll threads; the responder is called on them, and may answer at once or
/// later through an ``HTTPReply`` (the connection is suspended meanwhile, holding no thread).
/// Bodies are bounded by ``HTTPServerConfiguration/maxBodyBytes`` while they arrive, never after.
public final class HTTPServer: Sendable {
    /// How the server listens.
    public let configuration: HTTPServerConfiguration
    /// Who answers requests.
    public let responder: any HTTPResponder
    /// The bytes held for clients at once, bodies and streams alike.
    public let budget: MemoryBudget
    let logger: Logger
    private let daemon = Mutex<DaemonHandle?>(nil)
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
    }

    /// The port the server is bound to, once started (useful when the configuration asked for port 0).
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// `true` once ``stop()`` began: responses then carry `Connection: close`.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Binds and starts serving.
    public func start() throws(HTTPServerError) {
        var address = try SocketAddress(host: configuration.host, port: configuration.port)
        MemoryBudget.keepLargeAllocationsReturnable()
        var flags =
            MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if address.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        let context = Unmanaged.passRetained(self).toOpaque()
        let started: OpaquePointer? = address.withSockaddrPointer { sockaddr in
            var options: [MHD_OptionItem] = [
                // First, as libmicrohttpd asks, so that none of its messages goes to its own stderr logger.
                MHD_OptionItem(
                    option: .EXTERNAL_LOGGER, value: unsafeBitCast(MHDCallbacks.log, to: Int.self), ptr_value: context),
                MHD_OptionItem(option: .SOCK_ADDR, value: 0, ptr_value: sockaddr),
                MHD_OptionItem(option: .THREAD_POOL_SIZE, value: max(1, configuration.threads), ptr_value: nil),
                MHD_OptionItem(
                    option: .CONNECTION_TIMEOUT, value: configuration.connectionTimeoutSeconds, ptr_value: nil),
                MHD_OptionItem(option: .CONNECTION_LIMIT, value: configuration.connectionLimit, ptr_value: nil),
                MHD_OptionItem(
                    option: .PER_IP_CONNECTION_LIMIT, value: configuration.connectionLimitPerIP, ptr_value: nil),
                MHD_OptionItem(
                    option: .CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryLimitBytes, ptr_value: nil),
                MHD_OptionItem(
                    option: .NOTIFY_COMPLETED,
                    value: unsafeBitCast(MHDCallbacks.completed, to: Int.self), ptr_value: context),
                MHD_OptionItem(option: .END, value: 0, ptr_value: nil),
            ]
            return options.withUnsafeMutableBufferPointer { items in
                taskgate_mhd_start(
                    flags, UInt16(configuration.port), MHDCallbacks.access, context, items.baseAddress)
            }
        }
        guard let started else {
            Unmanaged<HTTPServer>.fromOpaque(context).release()
            throw HTTPServerError(
                .startFailed,
                "cannot listen on \(configuration.host):\(configuration.port) (address in use or not permitted)")
        }
        boundPort.store(Int(taskgate_mhd_bound_port(started)), ordering: .releasing)
        daemon.withLock { $0 = DaemonHandle(pointer: started, context: context) }
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
    }

    /// Stops accepting, waits up to the drain timeout for requests in flight to be answered, then stops.
    public func stop() {
        guard
            let handle = daemon.withLock({ current -> DaemonHandle? in
                defer { current = nil }
                return current
            })
        else { return }
        stopping.store(true, ordering: .relaxed)
        let listener = MHD_quiesce_daemon(handle.pointer)
        if listener >= 0 { close(listener) }
        let deadline = ContinuousClock.now + .milliseconds(Int(configuration.drainTimeoutSeconds * 1000))
        while inFlight.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        let abandoned = inFlight.load(ordering: .acquiring)
        if abandoned > 0 {
            logger.warning("stopping with requests still open", metadata: ["open": "\(abandoned)"])
        }
        MHD_stop_daemon(handle.pointer)
        Unmanaged<HTTPServer>.fromOpaque(handle.context).release()
        logger.info("stopped")
    }

    func requestStarted() {
        inFlight.add(1, ordering: .relaxed)
    }

    func requestFinished() {
        inFlight.subtract(1, ordering: .releasing)
    }
}

/// The running daemon and the retained context pointer handed to its callbacks.
private struct DaemonHandle: @unchecked Sendable {
    // @unchecked: both are opaque C handles; only HTTPServer.stop() touches them, once, after taking
    // them out of the mutex.
    let pointer: OpaquePointer
    let context: UnsafeMutableRawPointer
}

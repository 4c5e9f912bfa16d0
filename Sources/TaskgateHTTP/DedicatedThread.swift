import Glibc

/// Starts a POSIX thread of its own for a loop that blocks for the process's life (an accept loop, a Redis
/// subscriber).
///
/// Not a Dispatch queue: a blocked work item holds one of Dispatch's limited worker threads, and enough of them
/// (several gateways in one test process) starve every other queue.
public enum DedicatedThread {
    /// Runs `body` on a new detached thread.
    public static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                body.run()
                return nil
            }, box)
        precondition(created == 0, "cannot start a thread: error \(created)")
        pthread_detach(thread)
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

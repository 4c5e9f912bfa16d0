/// How long a claim holds a task without news from its worker, and how often the worker sends news.
///
/// A worker that dies (even by `kill -9`) stops extending its leases; once the lease runs out, the next recovery
/// pass of any worker on the queue puts the task back. So a dead worker's task runs again within about
/// `leaseMilliseconds + recoveryIntervalMilliseconds`.
public struct LeaseTiming: Sendable, Equatable {
    /// How long a lease lasts from its last extension, in milliseconds.
    public var leaseMilliseconds: Int
    /// How often a worker extends the leases of its running tasks, in milliseconds.
    public var heartbeatMilliseconds: Int
    /// How often a worker looks for expired leases and for claimed tasks that never got one, in milliseconds.
    public var recoveryIntervalMilliseconds: Int

    /// Creates a timing; the heartbeat defaults to a third of the lease, so two heartbeats may be lost in a row.
    public init(leaseMilliseconds: Int, heartbeatMilliseconds: Int? = nil, recoveryIntervalMilliseconds: Int = 1_000) {
        self.leaseMilliseconds = max(100, leaseMilliseconds)
        self.heartbeatMilliseconds = max(
            10, min(heartbeatMilliseconds ?? self.leaseMilliseconds / 3, self.leaseMilliseconds / 2))
        self.recoveryIntervalMilliseconds = max(10, recoveryIntervalMilliseconds)
    }

    /// The defaults: a 10 s lease, extended every 3.3 s, checked every second; a killed worker's task runs again
    /// within about 11 s.
    public static let standard = LeaseTiming(leaseMilliseconds: 10_000)
}

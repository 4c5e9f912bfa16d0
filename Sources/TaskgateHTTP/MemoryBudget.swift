import CMicroHTTPD
import Synchronization

/// The bytes the server may hold for clients at once: request bodies being received, and what open streams
/// and waiting requests keep. Past it, new work is refused (503) instead of buffered, so no number of slow
/// clients can grow the process without bound.
///
/// Bodies larger than ``smallBodyBytes`` may only take the budget up to ``largeShare`` of it: small requests
/// are still served while large ones are held. When a burst ends, freed memory is handed back to the kernel
/// (`malloc_trim`, at most once a second).
public final class MemoryBudget: Sendable {
    /// The most bytes held at once.
    public let limit: Int
    /// A reservation at most this big counts as small.
    public static let smallBodyBytes = 64 * 1024
    /// The share of the budget that large reservations may fill.
    public static let largeShare = 0.75
    private let used = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)
    private let lastTrim = Mutex<ContinuousClock.Instant>(.now)

    /// Creates a budget of `limit` bytes (at least 1 MiB).
    public init(limit: Int) {
        self.limit = max(1 << 20, limit)
    }

    /// Bytes reserved now.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Reserves `bytes`, part of something of `total` bytes in all (a body that arrives in chunks); `false`
    /// (nothing reserved) when that would pass the budget, or its large share when `total` is bigger than
    /// ``smallBodyBytes``.
    public func reserve(_ bytes: Int, partOf total: Int? = nil) -> Bool {
        guard bytes > 0 else { return true }
        let ceiling = (total ?? bytes) > Self.smallBodyBytes ? Int(Double(limit) * Self.largeShare) : limit
        var current = used.load(ordering: .relaxed)
        while true {
            guard current + bytes <= ceiling else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged {
                if current + bytes > peak.load(ordering: .relaxed) { peak.store(current + bytes, ordering: .relaxed) }
                return true
            }
            current = original
        }
    }

    /// Gives back bytes reserved before; after a burst of at least 8 MiB, once use falls under a quarter of
    /// that peak, returns free heap memory to the kernel.
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        let now = used.subtract(bytes, ordering: .relaxed).newValue
        let high = peak.load(ordering: .relaxed)
        guard high >= 8 << 20, now < high / 4 else { return }
        let due = lastTrim.withLock { last -> Bool in
            guard ContinuousClock.now - last >= .seconds(1) else { return false }
            last = .now
            return true
        }
        guard due else { return }
        peak.store(now, ordering: .relaxed)
        taskgate_malloc_trim()
    }

    /// Makes large allocations come from their own mappings, given back on free, instead of the heap, where
    /// glibc's moving threshold would otherwise keep a burst of 1 MB bodies resident after they are freed.
    /// Call once at start.
    public static func keepLargeAllocationsReturnable() {
        taskgate_malloc_fixed_mmap_threshold(128 * 1024)
    }
}

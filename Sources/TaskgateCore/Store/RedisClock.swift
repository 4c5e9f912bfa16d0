import Glibc
import Synchronization

/// Redis' clock read on this host: the wall clock plus the offset last seen between it and Redis `TIME`.
///
/// Scripts take their time from Redis, so every host agrees on it. A transaction cannot read `TIME` before it
/// writes, so the enqueue transaction stamps its tasks with this instead, and reads `TIME` as its last command
/// to keep the offset current. The offset is taken when the reply arrives, after Redis read its clock, so the
/// reading is early rather than late, by at most one round trip (under a millisecond on a local network): a task's
/// `created_at` does not come after the `started_at` its claim stamps, unless this host's clock steps between two
/// replies; a step is corrected by the next reply.
final class RedisClock: Sendable {
    /// Redis time minus local time in ms, or `Int.min` until a first reading.
    private let offset = Atomic<Int>(Int.min)

    /// Redis' time now, in ms since the epoch; `nil` before a first ``observe(redisMilliseconds:)``.
    func now() -> Int? {
        let offset = offset.load(ordering: .relaxed)
        return offset == Int.min ? nil : Self.localMilliseconds() + offset
    }

    /// Learns the offset from a Redis time just read (ms since the epoch).
    func observe(redisMilliseconds: Int) {
        offset.store(redisMilliseconds - Self.localMilliseconds(), ordering: .relaxed)
    }

    private static func localMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}

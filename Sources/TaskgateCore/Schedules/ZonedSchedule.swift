import Foundation

/// A ``CronSchedule`` read on the wall clock of an IANA time zone: the instants its ticks fall on.
///
/// Daylight-saving changes are handled as cron users expect, one rule each way:
/// - **A skipped hour** (spring forward, 02:00 becomes 03:00): a wall time that does not exist that day fires once,
///   at the first instant after the gap (a 02:30 job runs at 03:00); several skipped times fire as one tick.
/// - **A repeated hour** (fall back, 03:00 becomes 02:00 again): each wall time fires once, at its first occurrence
///   (a 02:30 job runs at the first 02:30 only; a `*/15` job runs 02:00 to 02:45 once, not twice).
///
/// `@every` schedules count real seconds and ignore the zone. Time zone rules come from Foundation's `TimeZone`
/// (its own copy of the IANA database), so a host needs no `tzdata` package.
public struct ZonedSchedule: Sendable {
    /// One tick: the instant it fires (seconds since the epoch) and the wall-clock time it stands for.
    public struct Tick: Sendable, Hashable {
        /// The instant, seconds since the epoch.
        public let instant: Int
        /// The wall-clock time it stands for, in the schedule's zone.
        public let wall: CivilTime

        /// Creates a tick.
        public init(instant: Int, wall: CivilTime) {
            self.instant = instant
            self.wall = wall
        }
    }

    /// The schedule, read on the zone's wall clock.
    public let schedule: CronSchedule
    /// The zone.
    public let zone: TimeZone

    /// Reads `schedule` in the zone named `timeZone` (`UTC`, `Europe/Berlin`, ...); throws for an unknown name.
    public init(_ schedule: CronSchedule, timeZone: String = "UTC") throws(CronError) {
        guard let zone = TimeZone(identifier: timeZone) else {
            throw CronError(.invalidValue, field: "timezone", "\(timeZone) is not an IANA time zone name")
        }
        self.schedule = schedule
        self.zone = zone
    }

    /// The first tick after the instant `utcSeconds`.
    public func firstTick(afterUTCSeconds utcSeconds: Int) -> Tick? {
        switch schedule {
        case .every:
            return schedule.next(afterUTCSeconds: utcSeconds).map { Tick(instant: $0, wall: wall(at: $0)) }
        case .calendar:
            return tick(after: Tick(instant: utcSeconds, wall: wall(at: utcSeconds)))
        }
    }

    /// The tick after `previous`: later on the wall clock and later in time (so a repeated hour fires nothing
    /// twice, and wall times a gap swallowed fire as one tick).
    public func tick(after previous: Tick) -> Tick? {
        switch schedule {
        case .every:
            return firstTick(afterUTCSeconds: previous.instant)
        case .calendar(let expression):
            var wall = previous.wall
            // Bounded: a skipped hour swallows at most 3,600 wall times of a seconds-field expression.
            for _ in 0..<4_000 {
                guard let next = expression.next(after: wall) else { return nil }
                let instant = self.instant(of: next)
                if instant > previous.instant { return Tick(instant: instant, wall: next) }
                wall = next
            }
            return nil
        }
    }

    /// The wall-clock time at an instant.
    public func wall(at utcSeconds: Int) -> CivilTime {
        CivilTime(utcSeconds: utcSeconds + offset(at: utcSeconds))
    }

    /// The instant a wall time stands for: its first occurrence when it occurs twice, the end of the gap when it
    /// does not occur at all.
    public func instant(of wall: CivilTime) -> Int {
        let local = wall.utcSeconds
        // The offsets in force around that wall time (no zone changes its offset twice within 36 hours).
        let offsets = Set([offset(at: local - 18 * 3600), offset(at: local + 18 * 3600)])
        let valid = offsets.map { local - $0 }.filter { offset(at: $0) == local - $0 }
        if let first = valid.min() { return first }
        // In a gap: the first instant after it, where the clock jumped.
        let before = local - (offsets.max() ?? 0)
        let transition = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: Double(before)))
        return transition.map { Int($0.timeIntervalSince1970.rounded(.down)) } ?? before
    }

    private func offset(at utcSeconds: Int) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utcSeconds)))
    }
}

/// What one pass of a worker does with one due schedule: which ticks fire now, which are counted missed, and
/// where the schedule's next tick is. Pure: every rule of the misfire and overlap policies is here.
///
/// A tick is **missed** when it did not fire at its time: it fell in a pause, or a later tick was already due
/// when a worker got to it (an outage), or the overlap policy held it back. Under `misfire: skip` the latest
/// due tick fires (late, when it is itself missed); under `all` every due tick within the window fires, oldest
/// first, at most ``maxFiresPerPass`` per pass (the next pass takes the rest at once).
public struct ScheduleFirePlan: Sendable, Equatable {
    /// A tick to fire now.
    public struct Fire: Sendable, Equatable {
        /// The tick (ms).
        public let tick: Int
        /// `tick`, or `late` for a missed or buffered one.
        public let kind: ScheduleRun.Kind
    }

    /// The ticks to fire, in order.
    public let fires: [Fire]
    /// What was missed, one entry per reason (their `recordedAt` is left 0: the commit stamps it).
    public let misses: [ScheduleMiss]
    /// The schedule's first tick not handled by this pass (ms); `nil` when it never ticks again.
    public let next: Int?
    /// The tick held back by `overlap: buffer_one`, if any.
    public let buffered: Int?

    /// The most ticks one pass fires for one schedule under `misfire: all`.
    public static let maxFiresPerPass = 100
    /// The most due ticks one pass counts; more (a per-second schedule after days without a worker) are
    /// skipped uncounted.
    public static let maxCountedTicks = 100_000

    /// The plan for `definition` at Redis time `now` (ms), whose first unhandled tick is `next`, with
    /// `buffered` held back, paused over `paused` (`from..<until`, ms) if it was, and whose last run is not final
    /// when `lastRunning`.
    public init(
        _ definition: ScheduleDefinition, next: Int?, buffered: Int?, paused: Range<Int>?, lastRunning: Bool,
        now: Int
    ) {
        var due: [Int] = []
        var following = next
        while let tick = following, tick <= now, due.count < Self.maxCountedTicks {
            due.append(tick)
            following = definition.tick(afterTick: tick)
        }
        if let tick = following, tick <= now { following = definition.firstTick(afterMilliseconds: now) }
        let latest = due.last
        var candidates: [Int]
        var handled = due
        switch definition.misfire {
        case .skip:
            candidates = latest.map { [$0] } ?? []
        case .all:
            let windowStart = now - definition.misfireWindowSeconds * 1000
            let inWindow = due.filter { $0 >= windowStart }
            candidates = Array(inWindow.prefix(Self.maxFiresPerPass))
            if inWindow.count > Self.maxFiresPerPass, let last = candidates.last {
                handled = due.filter { $0 <= last }
                following = due.first { $0 > last }
            }
        }
        let isPaused = { (tick: Int) in paused?.contains(tick) ?? false }
        var fires: [Fire] = []
        var running = lastRunning
        var held = buffered
        if let tick = buffered, !running {
            fires.append(Fire(tick: tick, kind: .late))
            held = nil
            running = true
        }
        for tick in candidates {
            if definition.overlap == .allow || !running {
                fires.append(Fire(tick: tick, kind: isPaused(tick) || tick != latest ? .late : .tick))
                running = true
            } else if definition.overlap == .bufferOne && held == nil {
                held = tick
            }
        }
        // Every handled tick that did not fire at its time, under its first reason.
        let fired = Set(fires.map(\.tick))
        var byReason: [ScheduleMiss.Reason: (from: Int, to: Int, count: Int, late: Int)] = [:]
        for tick in handled {
            let reason: ScheduleMiss.Reason
            if isPaused(tick) {
                reason = .paused
            } else if tick != latest {
                reason = .outage
            } else if !fired.contains(tick) && tick != held {
                reason = .overlap
            } else {
                continue
            }
            let late = fired.contains(tick) ? 1 : 0
            if let entry = byReason[reason] {
                byReason[reason] = (entry.from, tick, entry.count + 1, entry.late + late)
            } else {
                byReason[reason] = (tick, tick, 1, late)
            }
        }
        misses = [ScheduleMiss.Reason.paused, .outage, .overlap].compactMap { reason in
            byReason[reason].map {
                ScheduleMiss(
                    from: Timestamp(milliseconds: $0.from), to: Timestamp(milliseconds: $0.to), count: $0.count,
                    reason: reason, firedLate: $0.late, recordedAt: Timestamp(milliseconds: 0))
            }
        }
        self.fires = fires
        self.next = following
        self.buffered = held
    }
}

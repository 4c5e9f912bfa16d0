import Dispatch
import Synchronization

/// The time limits of a worker's running attempts, kept by one timer for all of them: starting an attempt with a
/// limit costs a dictionary entry, not a task group and a sleeping child task of its own.
///
/// ``run(expire:)`` sleeps until the earliest deadline (woken early when an earlier one is set) and hands each
/// slot whose deadline passed to `expire`, with the deadline, so that a slot that has moved on to another attempt
/// can tell the expiry is not about it.
final class AttemptDeadlines: Sendable {
    private struct State {
        var deadlines: [Int: ContinuousClock.Instant] = [:]
        /// The sleeping loop, and the deadline it sleeps until (`nil`: until a deadline is set).
        var alarm: CheckedContinuation<Void, Never>?
        var alarmAt: ContinuousClock.Instant?
        var generation = 0
    }
    private let state = Mutex(State())

    /// Sets the deadline of the attempt in `slot`.
    func set(_ slot: Int, deadline: ContinuousClock.Instant) {
        let alarm = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.deadlines[slot] = deadline
            guard state.alarm != nil, state.alarmAt.map({ deadline < $0 }) ?? true else { return nil }
            defer { state.alarm = nil }
            return state.alarm
        }
        alarm?.resume()
    }

    /// Forgets the deadline of `slot` (its attempt ended).
    func clear(_ slot: Int) {
        state.withLock { _ = $0.deadlines.removeValue(forKey: slot) }
    }

    /// Hands expired slots to `expire` until cancelled.
    func run(expire: @Sendable (_ slot: Int, _ deadline: ContinuousClock.Instant) -> Void) async {
        while !Task.isCancelled {
            let expired = state.withLock { state -> [(Int, ContinuousClock.Instant)] in
                let now = ContinuousClock.now
                let due = state.deadlines.filter { $0.value <= now }
                for slot in due.keys { state.deadlines[slot] = nil }
                return due.map { ($0.key, $0.value) }
            }
            for (slot, deadline) in expired { expire(slot, deadline) }
            await withTaskCancellationHandler {
                await sleepUntilNextDeadline()
            } onCancel: {
                let alarm = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    state.generation += 1
                    defer { state.alarm = nil }
                    return state.alarm
                }
                alarm?.resume()
            }
        }
    }

    private func sleepUntilNextDeadline() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (now, target, generation) = state.withLock {
                state -> (Bool, ContinuousClock.Instant?, Int) in
                let next = state.deadlines.values.min()
                if let next, next <= .now { return (true, nil, 0) }
                state.generation += 1
                state.alarm = continuation
                state.alarmAt = next
                return (false, next, state.generation)
            }
            if now { return continuation.resume() }
            if Task.isCancelled { return wake(generation) }
            guard let target else { return }
            let nanoseconds = max(0, (target - .now).nanoseconds)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
                self.wake(generation)
            }
        }
    }

    private func wake(_ generation: Int) {
        let alarm = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation else { return nil }
            defer { state.alarm = nil }
            return state.alarm
        }
        alarm?.resume()
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : product + attoseconds / 1_000_000_000
    }
}

import Foundation

/// Waits until `condition` holds, checking every 20 ms, and fails after `timeout` seconds on the monotonic clock.
/// This awaits an outside event (a worker in another process, a key expiring); it asserts nothing about speed.
/// The condition runs on the test's own thread (``TestThreadPool``), so a condition that makes round trips
/// blocks no other test. Start waiting once what is awaited is ready (a process answering, a gateway serving):
/// the deadline counts from the call.
func eventually(
    timeout: Double = 20, _ what: String, _ condition: () throws -> Bool
) async throws {
    _ = try await eventuallyValue(timeout: timeout, what) { try condition() ? () : nil }
}

/// Polls `value` until it is non-nil; the timeout's message says what was awaited, for how long, and how long
/// the test had been running.
func eventuallyValue<T>(
    timeout: Double = 20, _ what: String, _ value: () throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let began = clock.now
    let deadline = began + .milliseconds(Int(timeout * 1000))
    var polls = 0
    while true {
        if let found = try value() { return found }
        polls += 1
        if clock.now >= deadline { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure(timedOut: what, waited: (clock.now - began).seconds, polls: polls)
}

/// Runs a blocking call (a socket exchange that may wait on a frozen server) on a thread of its own, for code
/// outside a suite's ``TestThreadPool`` (an unstructured task) or a call that may outlast the test's thread.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Polls `value` every 2 ms on a thread of its own until it is non-nil, for a state that lasts only a moment
/// (a task between attempts, a record about to expire), where 20 ms between looks could miss it.
func watch<T: Sendable>(
    timeout: Double = 20, _ what: String, _ value: @escaping @Sendable () throws -> T?
) async throws -> T {
    let elapsed = TestClock.elapsed
    return try await offThePool {
        let clock = ContinuousClock()
        let began = clock.now
        let deadline = began + .milliseconds(Int(timeout * 1000))
        var polls = 0
        while true {
            if let found = try value() { return found }
            polls += 1
            if clock.now >= deadline { break }
            usleep(2_000)
        }
        throw TestFailure(
            timedOut: what, waited: (clock.now - began).seconds, polls: polls, testElapsedAtStart: elapsed)
    }
}

extension TestFailure {
    /// A timeout that says what it waited for, how long and how often it looked, and how long the test had run.
    init(timedOut what: String, waited: Double, polls: Int, testElapsedAtStart: Double? = nil) {
        let running = testElapsedAtStart.map { $0 + waited } ?? TestClock.elapsed
        var text = "timed out after \(String(format: "%.1f", waited)) s (\(polls) looks) waiting for: \(what)"
        if let running { text += "; the test had been running \(String(format: "%.1f", running)) s" }
        self.init(text)
    }
}

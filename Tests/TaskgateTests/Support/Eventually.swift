import Foundation

/// Waits until `condition` holds, checking every 20 ms, and fails after `timeout` seconds.
/// This awaits an outside event (a worker in another process, a key expiring); it asserts nothing about speed.
func eventually(
    timeout: Double = 20, _ what: String, _ condition: () throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out after \(timeout) s waiting for: \(what)")
}

/// Polls `value` until it is non-nil.
func eventuallyValue<T>(
    timeout: Double = 20, _ what: String, _ value: () throws -> T?
) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let found = try value() { return found }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out after \(timeout) s waiting for: \(what)")
}

/// Runs a blocking call (a socket exchange that may wait on a frozen server) on a thread of its own, so it does
/// not hold one of the few threads Swift concurrency shares between all tests running in parallel.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Polls `value` every 2 ms on a thread of its own until it is non-nil, for a state that lasts only a moment
/// (a task between attempts, a record about to expire). ``eventually(timeout:_:_:)`` runs on the pool of async
/// tasks, which tests blocking beside it can starve for seconds; a thread of its own is scheduled by the kernel.
func watch<T: Sendable>(
    timeout: Double = 20, _ what: String, _ value: @escaping @Sendable () throws -> T?
) async throws -> T {
    try await offThePool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = try value() { return found }
            usleep(2_000)
        }
        throw TestFailure("timed out after \(timeout) s watching for: \(what)")
    }
}

import Dispatch

/// Runs blocking calls (Redis over hiredis) on a thread of their own, so they never hold one of the
/// few threads Swift concurrency runs async code on.
///
/// Each executor is a serial dispatch queue, which gets a thread of its own when it has work (dispatch
/// creates one for a serial queue rather than wait for a busy one): calls through one executor run one at a
/// time, in order.
public struct BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    /// Creates an executor; `label` names its thread in a debugger or `top -H`.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` on the executor's thread and returns what it returns.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}

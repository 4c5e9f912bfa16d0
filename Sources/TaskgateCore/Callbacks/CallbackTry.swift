import TaskgateRedis

/// One try at delivering a task's completion callback, held under a lease until its outcome is recorded.
public struct CallbackTry: Sendable {
    /// The task whose final record is delivered.
    public let record: TaskRecord
    /// The try's number (1 for the first); it is also the try's token: only this try can record its outcome.
    public let number: Int

    /// The task's id.
    public var id: TaskID { record.id }
}

/// How one try at a callback went, and what follows.
public enum CallbackOutcome: Sendable, Equatable {
    /// The receiver answered 2xx with `status`.
    case delivered(status: Int)
    /// The try failed; another is due after `delayMilliseconds`.
    case retry(status: Int?, error: String, delayMilliseconds: Int)
    /// The delivery gives up (tries used up, or the host is no longer allowed).
    case dead(status: Int?, error: String)
}

extension CallbackOutcome {
    /// What the finish scripts take for this outcome: `kind` (`delivered`, `retry`, `dead`), `status` (0 for
    /// none), `error` (empty for none) and the retry's delay in ms (0 when none is due).
    var scriptArguments: [any RedisArgument] {
        switch self {
        case .delivered(let code): ["delivered", code, "", 0]
        case .retry(let code, let message, let after): ["retry", code ?? 0, message, Swift.max(0, after)]
        case .dead(let code, let message): ["dead", code ?? 0, message, 0]
        }
    }
}

import TaskgateRedis

/// One task's part of an enqueue script call, ready to send: the new task's id, its keys and its arguments.
///
/// A class: it travels from the server thread through the batch to the reply, and is shared, not copied.
public final class EnqueueRequest: Sendable {
    /// The id the task gets.
    public let id: TaskID
    /// What was submitted.
    public let submission: TaskSubmission
    /// The payload as stored: compact JSON.
    public let payload: String
    /// Its keys in the enqueue script's KEYS[]: the task and, with an idempotency key, that key.
    public let keys: [String]
    /// The idempotency window in ms; 0 without an idempotency key.
    let windowMilliseconds: Int
    /// The Redis time (ms) after which the script must not store the task (0: no such time); a schedule's fire
    /// step sets it so that an attempt which stalled cannot store a tick's task after another attempt took over.
    let notAfterMilliseconds: Int

    init(
        id: TaskID, submission: TaskSubmission, payload: String, keys: [String], windowMilliseconds: Int,
        notAfterMilliseconds: Int = 0
    ) {
        self.id = id
        self.submission = submission
        self.payload = payload
        self.keys = keys
        self.windowMilliseconds = windowMilliseconds
        self.notAfterMilliseconds = notAfterMilliseconds
    }

    /// Its eleven values in the enqueue script's ARGV[], built when the script is the way it goes (the enqueue
    /// transaction needs none of them).
    public var arguments: [any RedisArgument] {
        [
            id.rawValue, submission.type ?? "", payload, submission.maxRetries,
            submission.timeoutMilliseconds.map(String.init) ?? "", submission.delayMilliseconds, windowMilliseconds,
            submission.callbackURL ?? "", notAfterMilliseconds, submission.origin?.schedule.rawValue ?? "",
            submission.origin.map { String($0.tick.milliseconds) } ?? "",
        ]
    }
}

import TaskgateRedis

/// One run of the enqueue script, ready to send: the new task's id, the script's keys and its arguments.
public struct EnqueueRequest: Sendable {
    /// The id the task gets.
    public let id: TaskID
    /// What was submitted.
    public let submission: TaskSubmission
    /// The payload as stored: compact JSON.
    public let payload: String
    /// KEYS[] of the enqueue script.
    public let keys: [String]
    /// ARGV[] of the enqueue script.
    public let arguments: [any RedisArgument]
}

/// The bounds of workflows: how long a waiting task or a batch lives, and how large a batch may be.
public enum WorkflowLimits {
    /// How long a waiting task waits for its parents, and a batch lives, by default: 7 days.
    public static let defaultRetentionMilliseconds = 604_800_000
    /// The most tasks a batch holds (one `POST /tasks/batch`).
    public static let maxBatchTasks = 10_000
    /// The most bytes of a batch's `metadata`, as compact JSON.
    public static let maxMetadataBytes = 16 * 1024
}

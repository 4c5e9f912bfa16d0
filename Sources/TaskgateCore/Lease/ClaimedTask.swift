/// A task a worker has claimed: its record as of the claim, and the lease that lets the worker report on it.
public struct ClaimedTask: Sendable, Equatable {
    /// The record, with `state == .active` and `attempts` counting this attempt.
    public var record: TaskRecord
    /// The worker's hold on this attempt.
    public var lease: Lease

    /// Creates a claimed task.
    public init(record: TaskRecord, lease: Lease) {
        self.record = record
        self.lease = lease
    }
}

/// The outcome of one ``TaskStore/promoteDue(in:limit:)`` pass.
public struct Promotion: Sendable, Equatable {
    /// Tasks moved to pending.
    public var promoted: Int
    /// Milliseconds until the next scheduled task is due, if any is left.
    public var nextDueInMilliseconds: Int?

    /// Creates a promotion result.
    public init(promoted: Int, nextDueInMilliseconds: Int?) {
        self.promoted = promoted
        self.nextDueInMilliseconds = nextDueInMilliseconds
    }
}

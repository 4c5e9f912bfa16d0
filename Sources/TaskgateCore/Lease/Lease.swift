/// A worker's hold on one attempt of a task: the task's id and the attempt's token.
///
/// Every claim mints a fresh token and stores it in the task's record together with a lease deadline.
/// Acknowledging, failing, putting back and extending all present the token, and Redis refuses them in the
/// same atomic step when the token is no longer the task's (the lease expired and the task was recovered).
public struct Lease: Sendable, Hashable, CustomStringConvertible {
    /// The task held.
    public let id: TaskID
    /// The attempt's token: 128 random bits as 32 lowercase hex digits.
    public let token: String

    /// Creates a lease from its parts.
    public init(id: TaskID, token: String) {
        self.id = id
        self.token = token
    }

    /// A lease on `id` with a fresh random token.
    public static func fresh(for id: TaskID) -> Lease {
        Lease(id: id, token: freshToken())
    }

    /// A fresh random attempt token.
    public static func freshToken() -> String {
        RandomBits.hex128()
    }

    public var description: String { "\(id) (attempt \(token.prefix(8)))" }
}

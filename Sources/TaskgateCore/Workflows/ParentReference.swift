/// One entry of a task's `after`: what it waits for.
public enum ParentReference: Sendable, Hashable {
    /// A task stored before (`<queue>.<32 hex>`).
    case task(TaskID)
    /// Another task of the same batch, by its position there (named in the request by its `ref`).
    case sibling(Int)
    /// A whole batch (`batch:<id>`): every task of it final, all succeeded.
    case batch(String)

    /// The most parents one task may name.
    public static let maxParents = 1000
}

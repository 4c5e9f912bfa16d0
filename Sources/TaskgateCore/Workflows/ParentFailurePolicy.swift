/// What a child does when a parent ends dead or cancelled (`on_parent_failure`).
public enum ParentFailurePolicy: String, Sendable, CaseIterable {
    /// The child, and through it its own descendants, ends `cancelled`, its `last_error` naming the parent.
    case cancel
    /// The child runs once every parent is final, and sees which failed.
    case run
}

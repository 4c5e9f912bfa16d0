/// What a schedule does when a tick comes while the task of its last run is not final yet (as Temporal's
/// schedules do).
public enum OverlapPolicy: String, Sendable, CaseIterable {
    /// Fire anyway: runs may overlap.
    case allow
    /// Do not fire; the tick is counted as missed (`overlap`).
    case skip
    /// Keep one tick back and fire it as soon as the last run is final; further ticks meanwhile are missed.
    case bufferOne = "buffer_one"
}

/// What a schedule does with ticks that passed while it could not fire (no worker ran, Redis was down, it was
/// paused).
public enum MisfirePolicy: String, Sendable, CaseIterable {
    /// Only the latest missed tick fires, once; the others are counted as missed.
    case skip
    /// Every missed tick within the schedule's window (`misfire_window_seconds`) fires, oldest first; older ones
    /// are counted as missed.
    case all
}

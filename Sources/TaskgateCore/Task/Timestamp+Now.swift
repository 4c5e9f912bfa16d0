#if canImport(Glibc)
    import Glibc
#endif

extension Timestamp {
    /// This host's wall clock now (where Redis' own clock is not at hand: the next tick of a schedule put over
    /// HTTP, the upcoming runs a page shows).
    public static var now: Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(milliseconds: time.tv_sec * 1000 + time.tv_nsec / 1_000_000)
    }
}

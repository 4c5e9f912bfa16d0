import Glibc
import Logging

/// The process's open-file limit, raised at start to fit the gateway's connection cap, as Redis does for its
/// `maxclients`.
///
/// Many systems start services with a soft limit of 1,024 descriptors, which a gateway holding event streams
/// passes quickly; the hard limit is usually far higher. When even the hard limit is too low, the cap is lowered
/// to fit and a warning says so, rather than the gateway failing to accept at some later, busier moment.
enum DescriptorLimit {
    /// Descriptors kept for everything but clients: Redis connections, the event subscriber, epoll and event
    /// descriptors, logs.
    static let reserve = 128

    /// Raises the soft `RLIMIT_NOFILE` towards `connections` plus ``reserve`` (never above the hard limit) and
    /// returns the connection cap that fits under the limit in force afterwards.
    static func fit(connections: Int, logger: Logger) -> Int {
        let needed = rlim_t(connections + reserve)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return connections }
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)  // RLIM_INFINITY is rlim_t.max
            if raised.rlim_cur > limit.rlim_cur, setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                logger.debug(
                    "raised the open-file limit",
                    metadata: ["from": "\(limit.rlim_cur)", "to": "\(raised.rlim_cur)"])
                limit = raised
            }
        }
        guard limit.rlim_cur < needed else { return connections }
        let fitting = max(1, Int(limit.rlim_cur) - reserve)
        logger.warning(
            "max connections lowered to fit the open-file limit; raise it (ulimit -n, LimitNOFILE=, --ulimit nofile=) for more",
            metadata: [
                "asked": "\(connections)", "max_connections": "\(fitting)", "open_file_limit": "\(limit.rlim_cur)",
            ])
        return fitting
    }
}

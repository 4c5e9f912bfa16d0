import TaskgateCore
import TaskgateHTTP

extension Problem {
    /// 421 when a gateway without tokens is named by a host it does not know (see ``OpenAccess``).
    public static func misdirected(host: String) -> Problem {
        Problem(
            status: 421, code: "misdirected-request", title: "Misdirected request",
            detail:
                "this gateway runs without API tokens and answers only requests naming it by a loopback name or "
                + "address or a host of its --allowed-hosts; Host was '\(host.prefix(100))'")
    }

    /// 403 when a gateway without tokens gets a request from a web page of another origin (see ``OpenAccess``).
    public static func crossOrigin(_ origin: String) -> Problem {
        Problem(
            status: 403, code: "cross-origin", title: "Cross-origin request refused",
            detail:
                "this gateway runs without API tokens and refuses requests sent by a web page of another origin "
                + "('\(origin.prefix(100))'); nothing was done")
    }
}

extension Problem {
    /// 400 when `--queues` does not list the queue.
    public static func queueNotAllowed(_ queue: QueueName, field: String?) -> Problem {
        Problem(
            status: 400, code: "queue-not-allowed", title: "Queue not allowed",
            detail: "queue \(queue) is not one this gateway serves (its --queues list)", field: field)
    }

    /// 409 when a new queue would pass `--max-queues`; nothing was stored.
    public static func tooManyQueues(_ queue: QueueName, limit: Int, field: String? = "/queue") -> Problem {
        Problem(
            status: 409, code: "too-many-queues", title: "Too many queues",
            detail:
                "queue \(queue) would be new, and the gateway's registry holds its --max-queues (\(limit)) queues "
                + "already; nothing was stored. Use an existing queue, or ask the operator (queues empty and unused "
                + "for a day are pruned)",
            field: field)
    }

    /// 404 for a claim or a stream on a queue no gateway or worker has registered.
    public static func unknownQueue(_ queue: QueueName) -> Problem {
        Problem(
            status: 404, code: "not-found", title: "Not found",
            detail: "no queue \(queue): no task was stored to it and no worker serves it")
    }
}

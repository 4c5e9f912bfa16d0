import TaskgateCore
import TaskgateHTTP

extension Problem {
    /// 400 for a query parameter out of range (`wait`).
    public static func invalidParameter(_ name: String, _ detail: String) -> Problem {
        Problem(status: 400, code: "invalid-parameter", title: "Invalid parameter", detail: detail, field: name)
    }

    /// 400 for a `callback_url` whose host is not on the gateway's allow list.
    public static func callbackNotAllowed(host: String, listEmpty: Bool) -> Problem {
        Problem(
            status: 400, code: "callback-not-allowed", title: "Callback not allowed",
            detail: listEmpty
                ? "this gateway sends no callbacks: it was started without --callback-allow"
                : "callback_url's host \(host) is not allowed by this gateway's --callback-allow list",
            field: "/callback_url")
    }

    /// 503 (with `Retry-After`) when the memory budget for bodies, streams and waiting requests is full.
    public static func overloaded(retryAfterSeconds: Int) -> Problem {
        serviceUnavailable(
            code: "overloaded", title: "Overloaded",
            detail:
                "the gateway holds as much for clients as its --max-inflight-body-bytes allows; nothing was "
                + "stored: try again after Retry-After seconds",
            retryAfterSeconds: retryAfterSeconds)
    }

    /// 503 (with `Retry-After`) when events cannot be subscribed to (Redis down) or the gateway is stopping.
    public static func eventsUnavailable(stopping: Bool, retryAfterSeconds: Int) -> Problem {
        serviceUnavailable(
            code: stopping ? "shutting-down" : "redis-unavailable",
            title: stopping ? "Shutting down" : "Redis unavailable",
            detail: stopping
                ? "this gateway is stopping; connect again (to another gateway) after Retry-After seconds"
                : "the gateway cannot subscribe to task events: Redis is unavailable; try again after Retry-After "
                    + "seconds",
            retryAfterSeconds: retryAfterSeconds)
    }

    /// 503 (with `Retry-After`) when the gateway follows as many event channels as it may.
    public static func tooManySubscriptions(retryAfterSeconds: Int) -> Problem {
        serviceUnavailable(
            code: "too-many-subscriptions", title: "Too many subscriptions",
            detail:
                "the gateway follows as many event channels as it may (every stream, long-poll and queue of "
                + "GET /events shares them); try again after Retry-After seconds",
            retryAfterSeconds: retryAfterSeconds)
    }
}

import Glibc
import TaskgateCore

/// Runs each task by POSTing its payload to an HTTP endpoint of the user's application, as Google Cloud Tasks
/// does: a 2xx answer is success and its body the result; any other answer, a refused connection or a timeout
/// is a failed attempt. A task with parents (`after`) is sent as `{"payload": ..., "parents": {...}}` with
/// `taskgate-envelope: parents`, so that its handler sees how they ended.
///
/// Each call carries `taskgate-task-id`, `taskgate-task-type` (when the task has a type), `taskgate-queue`,
/// `taskgate-attempt` and `taskgate-retries`, and, with a signer, the Standard Webhooks headers (`webhook-id` is the task id, the same
/// on every attempt). Connections are kept alive and reused; redirects are not followed (a 3xx is a failure);
/// answers are read up to ``maxResultBytes``. A `Retry-After` on a 429 or 503 becomes the backoff of that
/// retry. The time limit is the worker's: the task's `timeout_seconds`, else its default; when it passes, the
/// request is abandoned (its late answer is never read).
public final class HTTPTargetHandler: TaskHandler {
    /// Where tasks go.
    public let targets: HTTPTargets
    /// Signs every call; `nil` sends none of the `webhook-*` headers.
    public let signer: WebhookSigner?
    /// The most bytes of an answer kept as the result.
    public let maxResultBytes: Int
    /// The most bytes of a failed answer kept in `last_error`.
    public let maxErrorBytes: Int
    private let client: OutboundHTTPClient
    private let connectTimeoutMilliseconds: Int

    /// Creates a handler that keeps up to `connectionsPerHost` connections to each target open.
    public init(
        targets: HTTPTargets, signer: WebhookSigner?, connectionsPerHost: Int, maxResultBytes: Int = 64 * 1024,
        maxErrorBytes: Int = 1024, connectTimeout: Duration = .seconds(10)
    ) {
        self.targets = targets
        self.signer = signer
        self.maxResultBytes = maxResultBytes
        self.maxErrorBytes = maxErrorBytes
        self.client = OutboundHTTPClient(connectionsPerHost: connectionsPerHost)
        self.connectTimeoutMilliseconds = Int(connectTimeout.milliseconds)
    }

    public func handle(_ task: TaskContext) async throws -> TaskResult {
        guard let url = targets.url(for: task.type) else {
            throw TaskFailure(.noHandler, "no --http-target for task type \(task.type ?? "(none)")")
        }
        let payload = task.payload.isEmpty ? "null" : task.payload
        // A child gets its parents beside its payload, in an envelope its header names; others the bare payload.
        let body = Array(
            (task.hasParents ? #"{"payload":"# + payload + #","parents":"# + task.parentsJSON + "}" : payload).utf8)
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"), ("user-agent", "taskgate"), ("taskgate-task-id", task.id.rawValue),
        ]
        headers.reserveCapacity(13)
        if task.hasParents { headers.append(("taskgate-envelope", "parents")) }
        if let type = task.type { headers.append(("taskgate-task-type", type)) }
        headers.append(("taskgate-queue", task.queue.rawValue))
        headers.append(("taskgate-attempt", String(task.attempt)))
        headers.append(("taskgate-retries", String(task.retries)))
        if let signer {
            headers += signer.headers(id: task.id.rawValue, timestamp: Int(time(nil)), body: body)
        }
        // The worker cancels this task when the attempt's time is up: no overall timeout of the client's own.
        // Both bounds are read at once; which applies is known from the status.
        let request = OutboundRequest(
            url: url, headers: headers, body: body, connectTimeoutMilliseconds: connectTimeoutMilliseconds,
            timeoutMilliseconds: 0, maxBodyBytes: max(maxResultBytes, maxErrorBytes))

        let response: OutboundResponse
        do {
            response = try await client.post(request)
        } catch {
            try Task.checkCancellation()
            throw TaskFailure(.protocolError, "POST \(OutboundRequest.origin(of: url)) failed: \(error)")
        }
        try Task.checkCancellation()
        let status = response.status
        let success = (200..<300).contains(status)
        let kept = response.body.prefix(success ? maxResultBytes : maxErrorBytes)
        if success { return TaskResult.output(Array(kept)) }

        // The target's origin only: its path and query may hold a key, and this message is the task's last_error.
        var message = "HTTP \(status) from \(OutboundRequest.origin(of: url))"
        let text = String(decoding: kept, as: UTF8.self).trimmingWhitespace
        if !text.isEmpty { message += ": " + text }
        var retryAfter: Int?
        if status == 429 || status == 503, let value = response.retryAfter {
            retryAfter = RetryAfter.milliseconds(value)
        }
        throw TaskFailure(.failed, message, retryAfterMilliseconds: retryAfter)
    }

    /// Closes the connections; call once the worker has stopped.
    public func shutdown() async {
        client.shutdown()
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

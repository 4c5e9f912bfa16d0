/// The application side of the HTTP server: turns requests into responses.
///
/// The methods run on the server's own threads and may block (for example on Redis). A responder that can
/// answer without holding a thread implements ``respond(to:reply:)`` and answers through the reply later.
public protocol HTTPResponder: Sendable {
    /// Looks at a request before its body is read; a response returned here is sent at once and the body is never read.
    ///
    /// Use it to refuse early what cannot succeed (unknown path, wrong method, wrong media type).
    func preflight(_ head: HTTPRequest) -> HTTPResponse?

    /// Answers a complete request.
    func respond(to request: HTTPRequest) -> HTTPResponse

    /// Answers a complete request now or later through `reply`; by default with ``respond(to:)``, at once.
    func respond(to request: HTTPRequest, reply: HTTPReply)

    /// The response for a body larger than the server's limit.
    func payloadTooLarge(_ head: HTTPRequest, limit: Int) -> HTTPResponse

    /// The response when the server's memory budget cannot hold a request's body (503 with `Retry-After`).
    func overloaded(_ head: HTTPRequest, retryAfterSeconds: Int) -> HTTPResponse

    /// Hears of each response handed to libmicrohttpd: its status and the time since the request's head
    /// arrived (for a stream, until its head was sent). Runs on the server's thread: keep it short.
    func responded(_ head: HTTPRequest, status: Int, after elapsed: Duration)
}

extension HTTPResponder {
    public func responded(_ head: HTTPRequest, status: Int, after elapsed: Duration) {}

    public func overloaded(_ head: HTTPRequest, retryAfterSeconds: Int) -> HTTPResponse {
        HTTPResponse(status: 503, headers: [("Retry-After", String(retryAfterSeconds))])
    }

    public func respond(to request: HTTPRequest, reply: HTTPReply) {
        reply.send(respond(to: request))
    }
}

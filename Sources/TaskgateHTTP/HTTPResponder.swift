/// The application side of the HTTP server: turns requests into responses.
///
/// Both methods run on the server's own threads, synchronously, and may block (for example on Redis).
public protocol HTTPResponder: Sendable {
    /// Looks at a request before its body is read; a response returned here is sent at once and the body is never read.
    ///
    /// Use it to refuse early what cannot succeed (unknown path, wrong method, wrong media type).
    func preflight(_ head: HTTPRequest) -> HTTPResponse?

    /// Answers a complete request.
    func respond(to request: HTTPRequest) -> HTTPResponse

    /// The response for a body larger than the server's limit.
    func payloadTooLarge(_ head: HTTPRequest, limit: Int) -> HTTPResponse
}

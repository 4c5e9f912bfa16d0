/// What the server keeps for one request while libmicrohttpd feeds it body chunks.
///
/// Owned by one connection: libmicrohttpd never calls back for the same connection on two threads at once.
final class HTTPExchange {
    var head: HTTPRequest
    var body: [UInt8] = []
    var tooLarge = false
    var answered = false
    /// The pending answer while the connection is suspended.
    var reply: HTTPReply?
    /// When the head arrived; the body must be complete within the request timeout.
    let started = ContinuousClock.now

    init(head: HTTPRequest) {
        self.head = head
    }

    /// The complete request, head and body.
    var request: HTTPRequest {
        var request = head
        request.body = body
        return request
    }
}

/// Collects header fields from libmicrohttpd's iterator.
final class HeaderCollector {
    var fields: [(name: String, value: String)] = []

    init() {
        fields.reserveCapacity(8)
    }
}

/// What the server keeps for one request while libmicrohttpd feeds it body chunks.
///
/// Owned by one connection: libmicrohttpd never calls back for the same connection on two threads at once.
final class HTTPExchange {
    var head: HTTPRequest
    var body: [UInt8] = []
    var tooLarge = false
    /// The body did not fit the memory budget: it is dropped as it arrives and the answer is a 503.
    var overBudget = false
    /// Bytes reserved in the memory budget for the body, given back when the request is done.
    var reserved = 0
    /// The head's `Content-Length`, read once.
    var declaredLength: Int?
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

/// An HTTP response: status, header fields and body bytes.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields in the order they are sent.
    public var headers: [(name: String, value: String)]
    /// The body bytes.
    public var body: [UInt8]
    /// A body sent as it is written, instead of ``body`` (Server-Sent Events).
    public var stream: HTTPStream?

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = nil
    }

    /// Creates a response whose body is `stream`, sent as it is written (chunked).
    public init(status: Int, headers: [(name: String, value: String)], stream: HTTPStream) {
        self.status = status
        self.headers = headers
        self.body = []
        self.stream = stream
    }

    /// The first value of a header field, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

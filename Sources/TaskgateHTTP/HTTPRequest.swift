/// One HTTP request as the application sees it: method, path, headers and the whole (bounded) body.
public struct HTTPRequest: Sendable {
    /// The method, upper case as sent (`GET`, `POST`, ...).
    public var method: String
    /// The path without the query string, as sent (not percent-decoded).
    public var path: String
    /// Header fields keyed by lower-cased name; repeated fields are joined with `, `.
    public var headers: [String: String]
    /// The request body; empty until the whole body has arrived.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The value of a header field, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// The declared `Content-Length`, when present and valid.
    public var contentLength: Int? {
        header("content-length").flatMap { Int($0.trimmingSpaces) }
    }

    /// The media type of `Content-Type` without parameters, lower-cased (`application/json`).
    public var mediaType: String? {
        guard let value = header("content-type") else { return nil }
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(type).trimmingSpaces.lowercased()
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

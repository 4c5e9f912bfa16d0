/// One HTTP request as the application sees it: method, path, headers and the whole (bounded) body.
public struct HTTPRequest: Sendable {
    /// The method, upper case as sent (`GET`, `POST`, ...).
    public var method: String
    /// The path without the query string, as sent (not percent-decoded).
    public var path: String
    /// Header fields in the order they arrived, names as sent.
    public var fields: [(name: String, value: String)]
    /// The request body; empty until the whole body has arrived.
    public var body: [UInt8]
    /// The query string's arguments in order, decoded.
    public var query: [(name: String, value: String)] = []

    /// Creates a request.
    public init(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) {
        self.init(method: method, path: path, fields: headers.map { ($0.key, $0.value) }, body: body)
    }

    /// Creates a request from header fields in their order.
    public init(method: String, path: String, fields: [(name: String, value: String)], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.fields = fields
        self.body = body
    }

    /// The value of a header field, its name matched case-insensitively; repeated fields joined with `, `.
    ///
    /// A linear search: a request has a handful of fields, and most are never asked for, so none is hashed.
    public func header(_ name: String) -> String? {
        var found: String?
        for field in fields where field.name.equalsIgnoringASCIICase(name) {
            found = found.map { $0 + ", " + field.value } ?? field.value
        }
        return found
    }

    /// The first value of a query argument.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The declared `Content-Length`, when present and valid.
    public var contentLength: Int? {
        header("content-length").flatMap { Int(Substring($0).trimmingSpaces) }
    }

    /// The media type of `Content-Type` without parameters, lower-cased (`application/json`).
    public var mediaType: String? {
        guard let value = header("content-type") else { return nil }
        let utf8 = value.utf8
        let type = utf8.firstIndex(of: UInt8(ascii: ";")).map { utf8[..<$0] } ?? utf8[...]
        let trimmed = Substring(type).trimmingSpaces
        // Usually lower case already: then no new string is made.
        return trimmed.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) })
            ? trimmed.lowercased() : trimmed
    }
}

extension String {
    /// Equal but for the case of ASCII letters (header names are ASCII tokens).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(a | 0x20))
        }
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[first...last])
    }
}

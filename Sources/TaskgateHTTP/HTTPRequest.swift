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
    /// Whether the server already asked its responder's ``HTTPResponder/preflight(_:)`` about this request's head
    /// and was told to go on; a responder may then skip checks that preflight made (authentication). Only the
    /// server sets it.
    public internal(set) var passedPreflight = false

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
        // Over the bytes in place (native strings are contiguous): a zip of two UTF-8 views was the most
        // expensive frame of header look-ups, which every request makes several of.
        let compared = utf8.withContiguousStorageIfAvailable { mine in
            other.utf8.withContiguousStorageIfAvailable { theirs in
                for index in 0..<mine.count where !Self.sameIgnoringCase(mine[index], theirs[index]) { return false }
                return true
            }
        }
        if let compared = compared ?? nil { return compared }
        return zip(utf8, other.utf8).allSatisfy(Self.sameIgnoringCase)
    }

    private static func sameIgnoringCase(_ a: UInt8, _ b: UInt8) -> Bool {
        a == b || (a | 0x20 == b | 0x20 && (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(a | 0x20))
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

/// The method and target that open an HTTP request, read from bytes peeked before libmicrohttpd parses them.
///
/// The server reads only this much itself, to choose which libmicrohttpd daemon gets the connection; everything
/// else about the request (its version, headers, body, and whether it is well formed at all) is libmicrohttpd's.
struct RequestLineStart: Equatable, Sendable {
    /// The request method as sent (`GET`).
    let method: String
    /// The request target as sent, query included (`/tasks/abc/events?x=1`).
    let target: String

    /// What a peek at the first bytes of a connection tells.
    enum Peek: Equatable, Sendable {
        /// The method and target have not all arrived yet.
        case incomplete
        /// The bytes cannot start a request we would route specially (not a token method, a target too long
        /// for the peek): libmicrohttpd's general daemon gets it and answers as it would.
        case unreadable
        /// The method and target.
        case line(RequestLineStart)
    }

    /// The longest method read; longer ones are ``Peek/unreadable``.
    static let maxMethodBytes = 16

    /// Reads the start of a request line from `bytes`; `moreMayCome` is false when no further byte can be peeked
    /// (the buffer is full), so what is missing never will be.
    ///
    /// Empty lines before the request line are skipped, as RFC 9112 §2.2 asks of servers.
    static func peek(_ bytes: UnsafeRawBufferPointer, moreMayCome: Bool) -> Peek {
        var index = 0
        while index < bytes.count, bytes[index] == 13 || bytes[index] == 10 { index += 1 }
        let methodStart = index
        while index < bytes.count, bytes[index] != 32 {
            guard isTokenByte(bytes[index]), index - methodStart < maxMethodBytes else { return .unreadable }
            index += 1
        }
        guard index < bytes.count else { return moreMayCome ? .incomplete : .unreadable }
        guard index > methodStart else { return .unreadable }
        let methodEnd = index
        index += 1
        let targetStart = index
        while index < bytes.count, bytes[index] != 32, bytes[index] != 13, bytes[index] != 10 { index += 1 }
        guard index < bytes.count else { return moreMayCome ? .incomplete : .unreadable }
        guard index > targetStart else { return .unreadable }
        return .line(
            RequestLineStart(
                method: String(decoding: bytes[methodStart..<methodEnd], as: UTF8.self),
                target: String(decoding: bytes[targetStart..<index], as: UTF8.self)))
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126:  // ! # $ % & ' * + - . ^ _ ` | ~
            return true
        default:
            return false
        }
    }
}

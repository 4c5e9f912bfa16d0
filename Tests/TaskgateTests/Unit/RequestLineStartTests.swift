import Testing

@testable import TaskgateHTTP

/// The router reads only the method and target of a request, from peeked bytes that may be incomplete.
@Suite struct RequestLineStartTests {
    private func peek(_ text: String, moreMayCome: Bool = true) -> RequestLineStart.Peek {
        Array(text.utf8).withUnsafeBytes { RequestLineStart.peek($0, moreMayCome: moreMayCome) }
    }

    @Test func readsTheMethodAndTargetOfACompleteLine() {
        #expect(
            peek("GET /tasks/abc/events?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
                == .line(RequestLineStart(method: "GET", target: "/tasks/abc/events?x=1")))
        // The version need not have arrived: the space after the target is enough.
        #expect(peek("POST /tasks ") == .line(RequestLineStart(method: "POST", target: "/tasks")))
        // HTTP/0.9-style line without a version still ends at the line break.
        #expect(peek("GET /healthz\r\n") == .line(RequestLineStart(method: "GET", target: "/healthz")))
    }

    @Test func skipsEmptyLinesBeforeTheRequest() {
        #expect(peek("\r\n\r\nGET /a HTTP/1.1\r\n") == .line(RequestLineStart(method: "GET", target: "/a")))
    }

    @Test func waitsForTheRestOfALineInPieces() {
        #expect(peek("") == .incomplete)
        #expect(peek("\r\n") == .incomplete)
        #expect(peek("GE") == .incomplete)
        #expect(peek("GET ") == .incomplete)
        #expect(peek("GET /tasks/abc/ev") == .incomplete)
    }

    @Test func givesUpOnWhatCannotBeARequestLine() {
        #expect(peek("GET /tasks/abc/ev", moreMayCome: false) == .unreadable)
        #expect(peek(" /tasks HTTP/1.1\r\n") == .unreadable)
        #expect(peek("G{T /tasks HTTP/1.1\r\n") == .unreadable)
        #expect(peek("GET  HTTP/1.1\r\n") == .unreadable)
        #expect(peek(String(repeating: "A", count: 17) + " / HTTP/1.1\r\n") == .unreadable)
        #expect(peek("\u{16}\u{03}\u{01}\u{02}\u{00}") == .unreadable)  // a TLS hello on the plain port
    }
}

import Testing

@testable import TaskgateHTTP

@Suite(.dedicatedThreads) struct RouterTests {
    private var router: Router {
        var router = Router()
        router.add("POST", "/tasks") { _, _ in HTTPResponse(status: 202) }
        router.add("GET", "/tasks/:id") { _, parameters in
            HTTPResponse(status: 200, body: Array(parameters["id"]!.utf8))
        }
        router.add("GET", "/tasks/:id/retries") { _, _ in HTTPResponse(status: 201) }
        return router
    }

    @Test func matchesParameters() {
        guard case .found(let handler, let parameters) = router.match(method: "GET", path: "/tasks/abc") else {
            Issue.record("no match")
            return
        }
        #expect(parameters == ["id": "abc"])
        #expect(handler(HTTPRequest(method: "GET", path: "/tasks/abc"), parameters).status == 200)
    }

    @Test func aStaticPathIsItsRoutesAloneNotAParameterOfAnother() {
        var router = self.router
        router.add("POST", "/tasks/batch") { _, _ in HTTPResponse(status: 200) }
        router.add("DELETE", "/tasks/:id") { _, _ in HTTPResponse(status: 204) }
        if case .methodNotAllowed(let allow) = router.match(method: "OPTIONS", path: "/tasks/batch") {
            #expect(allow == ["POST"])
        } else {
            Issue.record("expected 405 with POST alone")
        }
        if case .methodNotAllowed(let allow) = router.match(method: "GET", path: "/tasks/batch") {
            #expect(allow == ["POST"])
        } else {
            Issue.record("GET /tasks/batch must not read a task called batch")
        }
        if case .found(let handler, _) = router.match(method: "DELETE", path: "/tasks/abc") {
            #expect(handler(HTTPRequest(method: "DELETE", path: "/tasks/abc"), [:]).status == 204)
        } else {
            Issue.record("DELETE /tasks/abc must still match")
        }
    }

    @Test func distinguishesNotFoundFromWrongMethod() {
        if case .methodNotAllowed(let allow) = router.match(method: "DELETE", path: "/tasks") {
            #expect(allow == ["POST"])
        } else {
            Issue.record("expected 405")
        }
        for path in ["/", "/task", "/tasks/", "/tasks/a/b", "/tasks/a/retries/x"] {
            if case .notFound = router.match(method: "GET", path: path) {} else { Issue.record("\(path) matched") }
        }
    }

    @Test func findsHeadersCaseInsensitivelyAndJoinsRepeatedOnes() {
        let request = HTTPRequest(
            method: "POST", path: "/",
            fields: [
                ("Content-Length", " 42 "), ("X-Tag", "a"), ("content-type", " application/json ;q=1"), ("x-tag", "b"),
            ])
        #expect(request.header("content-length") == " 42 ")
        #expect(request.contentLength == 42)
        #expect(request.header("X-TAG") == "a, b")
        #expect(request.mediaType == "application/json")
        #expect(request.header("x-tags") == nil)
        #expect(request.header("content-lengtH") == " 42 ")
    }

    @Test func readsMediaTypeWithoutParameters() {
        let request = HTTPRequest(
            method: "POST", path: "/", headers: ["content-type": "Application/JSON; charset=utf-8"])
        #expect(request.mediaType == "application/json")
    }
}

/// `HEAD` is served by a path's `GET` route, and listed beside it in `Allow`.
@Suite(.dedicatedThreads) struct RouterHeadTests {
    @Test func headIsAnsweredByTheGetRouteUnlessItHasItsOwn() {
        var router = Router()
        router.add("GET", "/tasks/:id") { _, parameters in
            HTTPResponse(status: 200, body: Array(parameters["id"]!.utf8))
        }
        router.add("GET", "/healthz") { _, _ in HTTPResponse(status: 200) }
        router.add("HEAD", "/healthz") { _, _ in HTTPResponse(status: 204) }
        router.add("POST", "/tasks") { _, _ in HTTPResponse(status: 202) }
        guard case .found(let handler, let parameters) = router.match(method: "HEAD", path: "/tasks/abc") else {
            Issue.record("HEAD did not match the GET route")
            return
        }
        #expect(parameters == ["id": "abc"])
        #expect(handler(HTTPRequest(method: "HEAD", path: "/tasks/abc"), parameters).body == Array("abc".utf8))
        if case .found(let own, _) = router.match(method: "HEAD", path: "/healthz") {
            #expect(own(HTTPRequest(method: "HEAD", path: "/healthz"), [:]).status == 204)
        } else {
            Issue.record("HEAD /healthz did not match its own route")
        }
        // A path without GET has no HEAD either.
        if case .methodNotAllowed(let allow) = router.match(method: "HEAD", path: "/tasks") {
            #expect(allow == ["POST"])
        } else {
            Issue.record("HEAD /tasks should be 405")
        }
        if case .methodNotAllowed(let allow) = router.match(method: "DELETE", path: "/tasks/abc") {
            #expect(allow == ["GET", "HEAD"])
        } else {
            Issue.record("DELETE /tasks/abc should be 405")
        }
    }

    @Test func headHasNoDeferredHandler() {
        var router = Router()
        router.add(
            "GET", "/tasks/:id", { _, _ in HTTPResponse(status: 200) },
            deferred: { _, _, reply in reply.send(HTTPResponse(status: 200)) })
        #expect(router.deferredMatch(method: "GET", path: "/tasks/x") != nil)
        #expect(router.deferredMatch(method: "HEAD", path: "/tasks/x") == nil)
    }
}

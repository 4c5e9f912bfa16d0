import Testing

@testable import TaskgateCore
@testable import TaskgateGateway
@testable import TaskgateWorker

/// The pieces of the new worker kinds that need no process: signing, Retry-After, targets, the line protocol.
@Suite(.dedicatedThreads) struct PushAndProtocolTests {
    @Test func retryAfterReadsSecondsAndDates() {
        #expect(RetryAfter.milliseconds("2") == 2_000)
        #expect(RetryAfter.milliseconds(" 120 ") == 120_000)
        #expect(RetryAfter.milliseconds("99999999999") == RetryAfter.maxMilliseconds)
        // 1994-11-06 08:49:37 GMT is 784111777 s after the epoch.
        #expect(RetryAfter.imfFixdate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(RetryAfter.milliseconds("Sun, 06 Nov 1994 08:49:47 GMT", nowSeconds: 784_111_777) == 10_000)
        #expect(RetryAfter.milliseconds("Sun, 06 Nov 1994 08:49:37 GMT", nowSeconds: 784_111_800) == 0)
        #expect(RetryAfter.milliseconds("soon") == nil)
        #expect(RetryAfter.milliseconds("-5") == nil)
        #expect(RetryAfter.milliseconds("") == nil)
    }

    @Test func targetsRouteByTypeWithADefault() throws {
        let targets = try HTTPTargets(specifications: ["http://app/tasks", "mail.send=https://mail/hook"])
        #expect(targets.url(for: "mail.send") == "https://mail/hook")
        #expect(targets.url(for: "other") == "http://app/tasks")
        #expect(targets.url(for: nil) == "http://app/tasks")
        let typedOnly = try HTTPTargets(specifications: ["a=http://x/a"])
        #expect(typedOnly.url(for: "b") == nil)
        for bad in [
            ["ftp://x"], ["mail.send=ftp://x"], ["=http://x/y"], ["http://a/1", "http://a/2"],
            ["t=http://a", "t=http://b"], [],
        ] {
            #expect(throws: HTTPTargetError.self, "\(bad)") { try HTTPTargets(specifications: bad) }
        }
    }

    @Test func signatureRoundTripsAndRotates() throws {
        let old = try WebhookSigner(secrets: ["whsec_c2VjcmV0LWtleS1ieXRlcw=="])
        let both = try WebhookSigner(list: "whsec_c2VjcmV0LWtleS1ieXRlcw==, new-secret")
        let body = Array(#"{"a":1}"#.utf8)
        let signature = both.signature(id: "msg_1", timestamp: 1_700_000_000, body: body)
        #expect(signature.split(separator: " ").count == 2)
        #expect(signature.split(separator: " ").allSatisfy { $0.hasPrefix("v1,") })
        // A receiver that knows only the old secret still verifies during the rotation.
        #expect(old.verify(id: "msg_1", timestamp: 1_700_000_000, body: body, signatureHeader: signature))
        #expect(!old.verify(id: "msg_1", timestamp: 1_700_000_001, body: body, signatureHeader: signature))
        #expect(!old.verify(id: "msg_2", timestamp: 1_700_000_000, body: body, signatureHeader: signature))
        #expect(!old.verify(id: "msg_1", timestamp: 1_700_000_000, body: body, signatureHeader: "v1,AAAA"))
        #expect(throws: WebhookSignerError.self) { try WebhookSigner(secrets: ["whsec_!!!"]) }
        #expect(throws: WebhookSignerError.self) { try WebhookSigner(list: " , ") }
    }

    @Test func answersAreReadAsTheProtocolSays() throws {
        func outcome(_ line: String) -> (String?, Result<TaskResult, TaskFailure>) {
            let answer = PersistentProtocol.answer(Array(line.utf8))
            return (answer.id, answer.outcome)
        }
        #expect(try outcome(#"{"id":"q.1","ok":true,"result":"text"}"#).1.get() == "text")
        #expect(try outcome(#"{"id":"q.1","ok":true,"result":{"b": [1, 2]}}"#).1.get().json == #"{"b":[1,2]}"#)
        #expect(try outcome(#"{"ok":true}"#).1.get() == .null)
        #expect(try outcome(#"{"ok":true,"result":null}"#).1.get() == .null)
        #expect(try outcome(#"{"ok":true,"result":"null"}"#).1.get() == "null")
        #expect(try outcome(#"{"ok":true,"result":1.50}"#).1.get().json == "1.50")
        #expect(outcome(#"{"id":"q.1","ok":true}"#).0 == "q.1")
        guard case .failure(let failure) = outcome(#"{"id":"q.1","ok":false,"error":"no","retry_after_seconds":2.5}"#).1
        else { Issue.record("a failure answer was taken as success"); return }
        #expect(failure.message == "no")
        #expect(failure.retryAfterMilliseconds == 2_500)
        for malformed in [#"{"id":"q.1","ok":tru"#, "[1]", #"{"id":"q.1"}"#, #"{"id":"q.1","ok":"yes"}"#, ""] {
            guard case .failure(let failure) = outcome(malformed).1 else {
                Issue.record("\(malformed) was taken as an answer")
                continue
            }
            #expect(failure.code == .protocolError, "\(malformed)")
        }
    }

    @Test func anOverlongAnswerIsTracedToTheTaskItNames() {
        #expect(PersistentProtocol.leadingID(Array(#"{"id":"q.1","ok":true,"result":"xxxx"#.utf8)) == "q.1")
        #expect(PersistentProtocol.leadingID(Array(#" { "id" : "q.2", "ok""#.utf8)) == "q.2")
        #expect(PersistentProtocol.leadingID(Array(#"{"ok":true,"id":"q.3"}"#.utf8)) == nil)
        #expect(PersistentProtocol.leadingID(Array(#"{"id":"q.4"#.utf8)) == nil)
        #expect(PersistentProtocol.leadingID(Array("xxxx".utf8)) == nil)
    }

    @Test func tokenLinesGrantTheirScopes() throws {
        let tokens = try #require(
            try BearerTokens(["worker:w-token-0123456789", "submit,read:web-0123456789ab", "plain-0123456789ab"]))
        #expect(tokens.scopes(authorization: "Bearer w-token-0123456789") == .worker)
        #expect(tokens.scopes(authorization: "Bearer web-0123456789ab") == [.submit, .read])
        #expect(
            try BearerTokens(["submit+read:env-0123456789abc"])?.scopes(authorization: "Bearer env-0123456789abc")
                == [.submit, .read])
        #expect(AccessScopes.isScopeName("worker") && !AccessScopes.isScopeName("worker:x"))
        #expect(tokens.scopes(authorization: "Bearer plain-0123456789ab") == .all)
        #expect(tokens.scopes(authorization: "Bearer worker:w-token-0123456789") == nil)
        // A prefix that is not lowercase words is part of a bare token (a token may hold a colon).
        let colon = try #require(try BearerTokens(["Key:0123456789abcdef"]))
        #expect(colon.scopes(authorization: "Bearer Key:0123456789abcdef") == .all)
        // admin grants everything; a bare token everything but admin, as before the scope existed.
        #expect(
            try BearerTokens(["admin:root-0123456789abcd"])?.scopes(authorization: "Bearer root-0123456789abcd")
                == .everything)
        #expect(!AccessScopes.all.contains(.admin))
        #expect(GatewayResponder.scope(method: "POST", path: "/tasks") == .submit)
        #expect(GatewayResponder.scope(method: "POST", path: "/tasks/batch") == .submit)
        #expect(GatewayResponder.scope(method: "POST", path: "/queues/q/claim") == .worker)
        #expect(GatewayResponder.scope(method: "POST", path: "/tasks/q.1/fail") == .worker)
        #expect(GatewayResponder.scope(method: "GET", path: "/tasks/q.1") == .read)
        #expect(GatewayResponder.scope(method: "GET", path: "/queues") == .read)
        // A queue named like a pull path is still read with `read`.
        #expect(GatewayResponder.scope(method: "GET", path: "/queues/claim") == .read)
        #expect(GatewayResponder.scope(method: "GET", path: "/queues/fail") == .read)
        #expect(GatewayResponder.scope(method: "HEAD", path: "/queues/q") == .read)
        #expect(GatewayResponder.scope(method: "POST", path: "/queues/q/pause") == .admin)
        #expect(GatewayResponder.scope(method: "PUT", path: "/queues/q/limits") == .admin)
        #expect(GatewayResponder.scope(method: "DELETE", path: "/tasks/q.1") == .admin)
    }

    /// The footguns of a token file are refused, each naming its line and never its secret.
    @Test func tokenEntriesThatWouldGrantByMistakeAreRefusedByLine() throws {
        let cases: [([String], Int, BearerTokenError.Reason)] = [
            (["admin:"], 1, .scopeWithoutToken),
            (["0123456789abcdef", "worker:"], 2, .scopeWithoutToken),
            (["admin"], 1, .scopeWithoutToken),
            (["amdin:0123456789abcdef"], 1, .unknownScope("amdin")),
            (["short-token"], 1, .tooShort),
            (["admin:0123456789abcde"], 1, .tooShort),
            (["0123456789 abcdef"], 1, .invalidCharacter),
            (["0123456789abcdef\u{7}"], 1, .invalidCharacter),
        ]
        for (entries, line, reason) in cases {
            #expect(throws: BearerTokenError(line: line, reason: reason), "\(entries)") { try BearerTokens(entries) }
        }
        // The message names the line and the rule, never the token.
        do {
            _ = try BearerTokens(fileContents: "# tokens\n\nshort-secret\n")
            Issue.record("a short token was accepted")
        } catch {
            #expect(error.line == 3 && error.reason == .tooShort)
            #expect(!error.description.contains("short-secret"))
        }
        #expect(try BearerTokens(["0123456789abcdef"])?.count == 1)
    }
}

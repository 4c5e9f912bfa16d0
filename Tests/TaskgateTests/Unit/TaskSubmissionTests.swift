import Testing

@testable import TaskgateCore

@Suite(.dedicatedThreads) struct TaskSubmissionTests {
    private func parse(_ text: String) throws(TaskValidationError) -> TaskSubmission {
        try TaskSubmission(body: Array(text.utf8))
    }

    private func failure(_ text: String) -> TaskValidationError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func appliesDefaults() throws {
        let submission = try parse(#"{"payload":"task1"}"#)
        #expect(submission.payload.serialized == #""task1""#)
        #expect(submission.queue == .default)
        #expect(submission.maxRetries == 5)
        #expect(submission.delayMilliseconds == 0)
        #expect(submission.timeoutMilliseconds == nil)
        #expect(submission.type == nil)
    }

    @Test func readsEveryField() throws {
        let submission = try parse(
            #"{"payload":{"x":1},"type":"mail.send","queue":"q-1","max_retries":0,"delay_seconds":1.5,"timeout_seconds":2}"#
        )
        #expect(submission.type == "mail.send")
        #expect(submission.queue.rawValue == "q-1")
        #expect(submission.maxRetries == 0)
        #expect(submission.delayMilliseconds == 1500)
        #expect(submission.timeoutMilliseconds == 2000)
    }

    @Test func acceptsNullPayload() throws {
        #expect(try parse(#"{"payload":null}"#).payload.serialized == "null")
    }

    @Test(arguments: [
        (#"{"payload":1,"max_retries":"5"}"#, "/max_retries"),
        (#"{"payload":1,"max_retries":101}"#, "/max_retries"),
        (#"{"payload":1,"max_retries":-1}"#, "/max_retries"),
        (#"{"payload":1,"max_retries":1.5}"#, "/max_retries"),
        (#"{"payload":1,"delay_seconds":-1}"#, "/delay_seconds"),
        (#"{"payload":1,"delay_seconds":"soon"}"#, "/delay_seconds"),
        (#"{"payload":1,"delay_seconds":1e99}"#, "/delay_seconds"),
        (#"{"payload":1,"timeout_seconds":0}"#, "/timeout_seconds"),
        (#"{"payload":1,"queue":"a b"}"#, "/queue"),
        (#"{"payload":1,"queue":"{x}"}"#, "/queue"),
        (#"{"payload":1,"queue":""}"#, "/queue"),
        (#"{"payload":1,"queue":7}"#, "/queue"),
        (#"{"payload":1,"type":""}"#, "/type"),
        (#"{"payload":1,"type":null}"#, "/type"),
        (#"{"payload":1,"payload":2}"#, "/payload"),
        ("[1]", ""),
    ])
    func rejectsInvalidFields(_ body: String, _ field: String) {
        let error = failure(body)
        #expect(error?.code == .invalidField)
        #expect(error?.field == field)
    }

    @Test func namesUnknownFields() {
        let error = failure(#"{"payload":1,"priority":3}"#)
        #expect(error?.code == .unknownField)
        #expect(error?.field == "/priority")
    }

    @Test func escapesPointerCharactersInFieldNames() {
        #expect(failure(#"{"payload":1,"a/b~c":3}"#)?.field == "/a~1b~0c")
    }

    @Test func requiresPayload() {
        let error = failure(#"{"queue":"default"}"#)
        #expect(error?.code == .missingField)
        #expect(error?.field == "/payload")
    }

    @Test func reportsMalformedJSON() {
        #expect(failure(#"{"payload":"#)?.code == .malformedJSON)
        #expect(failure("")?.code == .malformedJSON)
    }
}

import Testing

@testable import TaskgateCore

/// A `PUT /schedules/{name}` body: what it takes, what it refuses (naming the field), and its stored form.
@Suite struct ScheduleDefinitionTests {
    private static func parse(_ json: String) throws(TaskValidationError) -> ScheduleDefinition {
        try ScheduleDefinition(body: Array(json.utf8))
    }

    @Test func theDefaultsAreUTCSkipAndAllow() throws {
        let definition = try Self.parse(#"{"cron":"@hourly","task":{"payload":{"a":1}}}"#)
        #expect(definition.timezone == "UTC" && definition.misfire == .skip && definition.overlap == .allow)
        #expect(definition.misfireWindowSeconds == 3600)
        #expect(definition.task.queue == .default && definition.task.maxRetries == 5)
    }

    @Test func theStoredSpecReadsBackTheSame() throws {
        let definition = try Self.parse(
            #"{"cron":"30 2 * * *","timezone":"Europe/Berlin","misfire":"all","misfire_window_seconds":600,"#
                + #""overlap":"buffer_one","task":{"queue":"reports","type":"nightly","payload":[1,"x"],"#
                + #""max_retries":2,"timeout_seconds":1.5,"callback_url":"https://example.com/done"}}"#)
        let again = try Self.parse(definition.spec)
        #expect(again.spec == definition.spec)
        #expect(again.task == definition.task)
        #expect(again.timing == "30 2 * * *\nEurope/Berlin")
        #expect(definition.task.timeoutMilliseconds == 1500)
    }

    @Test(arguments: [
        (#"{"cron":"61 * * * *","task":{"payload":1}}"#, "/cron"),
        (#"{"cron":"* * * * *","timezone":"Mars/Olympus","task":{"payload":1}}"#, "/timezone"),
        (#"{"cron":"* * * * *","task":{"payload":1,"max_retries":101}}"#, "/task/max_retries"),
        (#"{"cron":"* * * * *","task":{"payload":1,"queue":"no spaces"}}"#, "/task/queue"),
        (#"{"cron":"* * * * *","task":{"payload":1,"delay_seconds":5}}"#, "/task/delay_seconds"),
        (#"{"cron":"* * * * *","task":{"max_retries":1}}"#, "/payload"),
        (#"{"cron":"* * * * *","task":{"payload":1,"callback_url":"ftp://x"}}"#, "/task/callback_url"),
        (#"{"cron":"* * * * *"}"#, "/task"),
        (#"{"task":{"payload":1}}"#, "/cron"),
        (#"{"cron":"* * * * *","misfire":"sometimes","task":{"payload":1}}"#, "/misfire"),
        (#"{"cron":"* * * * *","overlap":"never","task":{"payload":1}}"#, "/overlap"),
        (#"{"cron":"* * * * *","misfire_window_seconds":0,"task":{"payload":1}}"#, "/misfire_window_seconds"),
        (#"{"cron":"* * * * *","task":{"payload":1},"color":"red"}"#, "/color"),
        (#"{"cron":5,"task":{"payload":1}}"#, "/cron"),
    ])
    func aWrongFieldIsNamed(body: String, field: String) {
        #expect(throws: TaskValidationError.self) { try Self.parse(body) }
        do {
            _ = try Self.parse(body)
        } catch {
            // A missing payload is named inside the template.
            #expect(error.field == (field == "/payload" ? "/task/payload" : field), "\(body)")
        }
    }

    @Test func aWholeNumberIsAWholeNumberHoweverItIsWritten() throws {
        for text in ["600", "600.0", "6e2"] {
            let definition = try Self.parse(
                #"{"cron":"@daily","misfire_window_seconds":"# + text + #","task":{"payload":1}}"#)
            #expect(definition.misfireWindowSeconds == 600)
        }
        #expect(throws: TaskValidationError.self) {
            try Self.parse(#"{"cron":"@daily","misfire_window_seconds":600.5,"task":{"payload":1}}"#)
        }
    }

    @Test func notJSONIsMalformed() {
        do {
            _ = try Self.parse("{nope")
            Issue.record("parsed")
        } catch {
            #expect(error.code == .malformedJSON)
        }
    }
}

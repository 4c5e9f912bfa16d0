import Foundation
import TaskgateCore
import Testing

/// The schedule endpoints over real sockets and a real Redis: create, replace, read, list, pause, resume, trigger,
/// delete, and the refusals that store nothing.
@Suite(.dedicatedThreads) struct ScheduleAPITests {
    private func put(_ fixture: GatewayFixture, _ name: String, _ json: String) throws -> TestResponse {
        try fixture.client.request(
            "PUT", "/schedules/\(name)", headers: ["Content-Type": "application/json"], body: Data(json.utf8))
    }

    @Test func putCreatesThenReplacesAndOnlyATimingChangeMovesTheNextTick() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }

        let created = try put(
            fixture, "nightly",
            #"{"cron":"30 2 * * *","timezone":"Europe/Berlin","task":{"queue":"reports","payload":{"r":1}}}"#)
        #expect(created.status == 201)
        #expect(created.header("location") == "/schedules/nightly")
        #expect(created.json["cron"] as? String == "30 2 * * *")
        #expect(created.json["paused"] as? Bool == false)
        let next = try #require(created.json["next_run"] as? String)
        // 02:30 in Berlin in December is 01:30 UTC.
        #expect(next.hasSuffix("T01:30:00.000Z"))
        #expect((created.json["next_runs"] as? [String])?.count == 5)

        let again = try put(
            fixture, "nightly",
            #"{"cron":"30 2 * * *","timezone":"Europe/Berlin","task":{"queue":"reports","payload":{"r":2}}}"#)
        #expect(again.status == 200)
        #expect(again.json["next_run"] as? String == next)
        #expect((again.json["task"] as? [String: Any])?["payload"] as? [String: Int] == ["r": 2])

        let moved = try put(
            fixture, "nightly", #"{"cron":"45 3 * * *","timezone":"UTC","task":{"queue":"reports","payload":{"r":2}}}"#)
        #expect(moved.status == 200)
        #expect((moved.json["next_run"] as? String)?.hasSuffix("T03:45:00.000Z") == true)

        let read = try fixture.client.get("/schedules/nightly")
        #expect(read.status == 200 && read.json["cron"] as? String == "45 3 * * *")
        #expect(read.json["runs"] as? Int == 0 && read.json["missed"] as? Int == 0)
    }

    @Test func listPagesByName() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        for name in ["c", "a", "b"] {
            #expect(try put(fixture, name, #"{"cron":"@daily","task":{"payload":null}}"#).status == 201)
        }
        let first = try fixture.client.get("/schedules?limit=2")
        #expect((first.json["schedules"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["a", "b"])
        let cursor = try #require(first.json["next_cursor"] as? String)
        let second = try fixture.client.get("/schedules?limit=2&cursor=\(cursor)")
        #expect((second.json["schedules"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["c"])
        #expect(second.json["next_cursor"] is NSNull)
        #expect(try fixture.client.get("/schedules?limit=0").status == 400)
    }

    @Test func refusalsAre422NamingTheFieldAndChangeNothing() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        let original = #"{"cron":"*/5 * * * *","task":{"queue":"q","payload":{"keep":true}}}"#
        #expect(try put(fixture, "kept", original).status == 201)
        let before = try fixture.client.get("/schedules/kept").text

        let cases: [(String, String, String)] = [
            ("kept", #"{"cron":"61 * * * *","task":{"payload":1}}"#, "/cron"),
            ("kept", #"{"cron":"* * * * *","timezone":"Mars/Olympus","task":{"payload":1}}"#, "/timezone"),
            ("kept", #"{"cron":"* * * * *","task":{"payload":1,"max_retries":-1}}"#, "/task/max_retries"),
            ("kept", #"{"cron":"* * * * *","task":{"payload":1,"timeout_seconds":0}}"#, "/task/timeout_seconds"),
            (
                "kept", #"{"cron":"* * * * *","task":{"payload":1,"callback_url":"https://example.com/x"}}"#,
                "/task/callback_url"
            ),
            ("new-one", #"{"cron":"30 2 30 2 *","task":{"payload":1}}"#, "/cron"),
            ("bad%20name", #"{"cron":"* * * * *","task":{"payload":1}}"#, "name"),
        ]
        for (name, body, field) in cases {
            let response = try put(fixture, name, body)
            #expect(response.status == 422, "\(body): \(response.text)")
            #expect(response.header("content-type") == "application/problem+json")
            #expect(response.json["field"] as? String == field, "\(body): \(response.text)")
        }
        let malformed = try put(fixture, "kept", "{nope")
        #expect(malformed.status == 400 && malformed.json["code"] as? String == "malformed-json")
        // Nothing was stored: the existing one is as it was, the new name does not exist.
        #expect(try fixture.client.get("/schedules/kept").text == before)
        #expect(try fixture.client.get("/schedules/new-one").status == 404)
        #expect(try ns.redis("ZCARD", ns.keys.scheduleNames).int == 1)
    }

    @Test func aTemplateQueuePastTheQueueBoundIsRefusedAndNothingIsStored() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns, maxQueues: 1)
        defer { fixture.stop(); ns.cleanUp() }
        #expect(try put(fixture, "first", #"{"cron":"@daily","task":{"queue":"one","payload":1}}"#).status == 201)
        let refused = try put(fixture, "second", #"{"cron":"@daily","task":{"queue":"two","payload":1}}"#)
        #expect(refused.status == 409)
        #expect(refused.json["code"] as? String == "too-many-queues")
        #expect(refused.json["field"] as? String == "/task/queue")
        #expect(try fixture.client.get("/schedules/second").status == 404)
        #expect(try ns.redis("ZCARD", ns.keys.scheduleNames).int == 1)
    }

    @Test func pauseResumeTriggerAndDelete() throws {
        let ns = TestNamespace()
        let fixture = try GatewayFixture(namespace: ns)
        defer { fixture.stop(); ns.cleanUp() }
        #expect(
            try put(
                fixture, "report", #"{"cron":"@hourly","task":{"queue":"reports","type":"build","payload":{"n":1}}}"#
            ).status == 201)
        let name = try #require(ScheduleName("report"))

        let paused = try fixture.client.post("/schedules/report/pause", json: "")
        #expect(paused.status == 200 && paused.json["paused"] as? Bool == true)
        #expect(paused.json["paused_at"] is String)
        #expect(try ns.redis("ZSCORE", ns.keys.schedulesDue, "report").string == nil)

        // A trigger fires now, paused or not.
        let fired = try fixture.client.post("/schedules/report/trigger", json: "")
        #expect(fired.status == 202)
        let id = try #require(fired.json["id"] as? String)
        #expect(fired.header("location") == "/tasks/\(id)")
        #expect(fired.json["schedule"] as? String == "report")
        #expect(fired.json["type"] as? String == "build" && fired.json["queue"] as? String == "reports")
        let task = try fixture.task(id)
        #expect(task["schedule"] as? String == "report" && task["tick"] is String)
        let shown = try fixture.client.get("/schedules/report").json
        let last = try #require(shown["last_run"] as? [String: Any])
        #expect(last["task_id"] as? String == id && last["kind"] as? String == "trigger")
        #expect(shown["runs"] as? Int == 1)

        let resumed = try fixture.client.post("/schedules/report/resume", json: "")
        #expect(resumed.status == 200 && resumed.json["paused"] as? Bool == false)
        #expect(try ns.redis("ZSCORE", ns.keys.schedulesDue, "report").string != nil)

        let deleted = try fixture.client.request("DELETE", "/schedules/report")
        #expect(deleted.status == 204)
        #expect(try fixture.client.get("/schedules/report").status == 404)
        #expect(try fixture.client.request("DELETE", "/schedules/report").status == 404)
        for action in ["pause", "resume", "trigger"] {
            let response = try fixture.client.post("/schedules/report/\(action)", json: "")
            #expect(response.status == 404 && response.header("content-type") == "application/problem+json")
        }
        for key in [ns.keys.schedule(name), ns.keys.scheduleFired(name), ns.keys.scheduleMissed(name)] {
            #expect(try ns.redis("EXISTS", key).int == 0)
        }
        #expect(try ns.redis("ZCARD", ns.keys.scheduleNames).int == 0)
        // The task the trigger created is not touched.
        #expect(try fixture.task(id)["state"] as? String == "pending")
    }

    @Test func aNewNamePastTheBoundIsRefusedAndAReplaceIsNot() throws {
        let ns = TestNamespace()
        let control = ScheduleControl(pool: ns.pool, keys: ns.keys, maxSchedules: 2)
        defer { ns.cleanUp() }
        let definition = try ScheduleDefinition(cron: "@daily", task: TaskSubmission(payload: .null))
        let now = Timestamp.now.milliseconds
        for name in ["one", "two"] {
            guard case .created = try control.put(ScheduleName(name)!, definition, now: now) else {
                Issue.record("\(name) was not created")
                return
            }
        }
        guard case .full(let limit) = try control.put(ScheduleName("three")!, definition, now: now) else {
            Issue.record("a third schedule was stored past the bound")
            return
        }
        #expect(limit == 2)
        guard case .updated = try control.put(ScheduleName("two")!, definition, now: now) else {
            Issue.record("replacing an existing schedule was refused")
            return
        }
        #expect(try control.count() == 2)
    }
}

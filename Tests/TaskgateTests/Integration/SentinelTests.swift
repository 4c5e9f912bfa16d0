import Foundation
import TaskgateCore
import TaskgateRedis
import Testing

/// Redis Sentinel and `--min-replicas`, with real binaries against real servers: a master, a replica and three
/// sentinels on loopback ports.
@Suite(.serialized, .dedicatedThreads) struct SentinelTests {
    private func log(_ process: TaskgateProcess) -> String {
        (try? String(contentsOf: process.log, encoding: .utf8)) ?? ""
    }

    private func gateway(_ url: String, prefix: String, _ extra: [String] = []) throws -> (TaskgateProcess, HTTPClient)
    {
        let port = freePort()
        let process = try TaskgateProcess(
            ["serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", url, "--key-prefix", prefix]
                + extra)
        return (process, HTTPClient(port: port))
    }

    private func waitUntilReady(_ client: HTTPClient, _ process: TaskgateProcess) async throws {
        try await eventually("the gateway to be ready") {
            guard process.process.isRunning else { throw TestFailure("the gateway exited: \(log(process))") }
            return (try? client.get("/readyz"))?.status == 200
        }
    }

    /// A 503 from the gateway is a problem document with `Retry-After`: what a client is told during a gap.
    private func expectRetryLater(_ response: TestResponse, code: String? = nil) {
        #expect(response.status == 503, "\(response.status): \(response.text)")
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(Int(response.header("Retry-After") ?? "") != nil)
        if let code { #expect(response.json["code"] as? String == code, "\(response.text)") }
    }

    private func waitForSuccess(_ client: HTTPClient, _ id: String) async throws {
        try await eventually("task \(id) to succeed") {
            (try? client.get("/tasks/\(id)"))?.json["state"] as? String == "succeeded"
        }
    }

    /// A failover while tasks are posted and run: with `--min-replicas 1` every task that got its 202 is on the
    /// promoted master and runs; without it, writes the old master took in the switch's window would be lost
    /// when it rejoins as a replica (this test saw that before the flag was given).
    @Test func gatewayAndWorkerFollowAFailoverWithoutARestartAndLoseNothing() async throws {
        let deployment = try SentinelDeployment()
        defer { deployment.stop() }
        let prefix = "sentinel-\(UUID().uuidString.prefix(8).lowercased())"
        let replicated = ["--min-replicas", "1", "--replica-timeout-ms", "500"]
        let (gateway, client) = try gateway(deployment.url, prefix: prefix, replicated)
        defer { gateway.stop() }
        let worker = try TaskgateProcess(
            [
                "worker", "--redis-url", deployment.url, "--key-prefix", prefix, "--exec", "cat",
                "--backoff-base-seconds", "0.05", "--backoff-max-seconds", "0.2",
            ] + replicated)
        defer { worker.stop() }
        try await waitUntilReady(client, gateway)

        let before = try client.post("/tasks", json: #"{"payload":{"n":0}}"#)
        #expect(before.status == 202, "\(before.text)")
        var accepted = [try #require(before.json["id"] as? String)]
        try await waitForSuccess(client, accepted[0])

        // A failover by the sentinels: the old master is demoted to a replica of the promoted one.
        try deployment.failover()
        var refused = 0
        var afterSwitch = 0
        try await eventually(timeout: 60, "five tasks accepted after the sentinels named the new master") {
            let switched = deployment.masterPort() == deployment.replica.port
            let response = try client.post("/tasks", json: #"{"payload":{"n":1}}"#)
            if response.status == 202, let id = response.json["id"] as? String {
                accepted.append(id)
                if switched { afterSwitch += 1 }
            } else {
                expectRetryLater(response)
                refused += 1
            }
            return afterSwitch >= 5
        }
        // Every acknowledged task is on the promoted server and runs there.
        let promoted = try deployment.replica.connect()
        let keys = KeySpace(prefix: prefix)!
        for text in accepted {
            let id = try #require(TaskID(text))
            #expect(try promoted.send(RedisCommand("EXISTS", keys.task(id))).int == 1, "\(text) was lost")
            try await waitForSuccess(client, text)
        }
        #expect(gateway.process.isRunning && worker.process.isRunning)
        #expect(try client.get("/readyz").status == 200)
        print("sentinel failover: \(accepted.count) accepted, \(refused) answered 503 during the switch, lost 0")
    }

    @Test func minReplicasAcknowledgesOnlyWhatAReplicaHolds() async throws {
        let master = RedisServer(settings: ["--repl-diskless-sync-delay", "0"])
        try master.start()
        defer { master.stop() }
        var replica = try master.startReplica()
        defer { replica.stop() }
        let prefix = "replicas-\(UUID().uuidString.prefix(8).lowercased())"
        let keys = KeySpace(prefix: prefix)!
        let (gateway, client) = try gateway(
            master.url, prefix: prefix, ["--min-replicas", "1", "--replica-timeout-ms", "300"])
        defer { gateway.stop() }
        try await waitUntilReady(client, gateway)
        #expect(log(gateway).contains("writes are acknowledged once replicas hold them"))

        // With the replica in step, the 202 comes after it holds the task.
        let held = try client.post("/tasks", json: #"{"queue":"acks","payload":{}}"#)
        #expect(held.status == 202, "\(held.text)")
        let heldID = try #require((held.json["id"] as? String).flatMap(TaskID.init))
        #expect(try replica.connect().send(RedisCommand("EXISTS", keys.task(heldID))).int == 1)

        // Without it, the task is written but not acknowledged: 503, and the client repeats with its key.
        replica.stop()
        let body = #"{"queue":"acks","payload":{"n":2}}"#
        let headers = ["Content-Type": "application/json", "Idempotency-Key": "k-1"]
        let unconfirmed = try client.request("POST", "/tasks", headers: headers, body: Data(body.utf8))
        expectRetryLater(unconfirmed, code: "not-replicated")
        #expect((unconfirmed.json["detail"] as? String)?.contains("0 of 1 replica(s)") == true, "\(unconfirmed.text)")
        // A batch is held to the same rule.
        let batch = try client.post("/tasks/batch", json: #"{"tasks":[{"queue":"acks","payload":{}}]}"#)
        let item = try #require((batch.json["results"] as? [[String: Any]])?.first, "\(batch.text)")
        #expect(item["status"] as? Int == 503, "\(batch.text)")
        #expect((item["problem"] as? [String: Any])?["code"] as? String == "not-replicated", "\(batch.text)")

        replica = try master.startReplica()
        let repeated = try await eventuallyValue("the repeated POST to be acknowledged") { () throws -> TestResponse? in
            let response = try client.request("POST", "/tasks", headers: headers, body: Data(body.utf8))
            if response.status == 503 { return nil }
            return response
        }
        #expect([200, 202].contains(repeated.status), "\(repeated.text)")
        let id = try #require((repeated.json["id"] as? String).flatMap(TaskID.init))
        #expect(try replica.connect().send(RedisCommand("EXISTS", keys.task(id))).int == 1)
        // One task for the key, however often it was sent: the first, the keyed one, and the batch's (written,
        // though not acknowledged).
        let queue = try #require(QueueName("acks"))
        let depth = try master.connect().send(RedisCommand("LLEN", keys.pending(queue)))
        #expect(depth.int == 3, "\(depth)")
    }
}

import Foundation
import Testing

/// The check of Redis' eviction policy and persistence that `taskgate serve` and `taskgate worker` make at start,
/// `--require-durable`, and the `redis` member of `GET /readyz`: real binaries against real servers.
@Suite(.dedicatedThreads) struct DurabilityCheckTests {
    private func server(_ settings: [String]) throws -> RedisServer {
        let server = RedisServer(settings: settings)
        try server.start()
        return server
    }

    private func gateway(_ server: RedisServer, _ extra: [String] = []) throws -> (TaskgateProcess, HTTPClient) {
        let port = freePort()
        let process = try TaskgateProcess(
            ["serve", "--host", "127.0.0.1", "--port", String(port), "--redis-url", server.url] + extra)
        return (process, HTTPClient(port: port))
    }

    /// The `redis` member of the first `/readyz` answer once the gateway listens.
    private func readiness(_ client: HTTPClient, _ process: TaskgateProcess) async throws -> [String: Any] {
        let ready = try await eventuallyValue("the gateway to answer /readyz") { () throws -> TestResponse? in
            guard process.process.isRunning else { throw TestFailure("the gateway exited: \(log(process))") }
            return try? client.get("/readyz")
        }
        #expect(ready.status == 200)
        return try #require(ready.json["redis"] as? [String: Any])
    }

    private func log(_ process: TaskgateProcess) -> String {
        (try? String(contentsOf: process.log, encoding: .utf8)) ?? ""
    }

    @Test func anEvictingRedisIsWarnedAboutAndRefusedWithRequireDurable() async throws {
        let redis = try server(["--maxmemory-policy", "allkeys-lru"])
        defer { redis.stop() }
        let (gateway, client) = try gateway(redis)
        defer { gateway.stop() }
        let settings = try await readiness(client, gateway)
        #expect(settings["readable"] as? Bool == true && settings["durable"] as? Bool == false)
        #expect(settings["maxmemory_policy"] as? String == "allkeys-lru" && settings["appendonly"] as? Bool == false)
        #expect((settings["warnings"] as? [String])?.count == 2)
        #expect(log(gateway).contains("maxmemory-policy is allkeys-lru"))

        for role in [["serve", "--host", "127.0.0.1", "--port", String(freePort())], ["worker", "--exec", "true"]] {
            let refused = try TaskgateProcess(role + ["--redis-url", redis.url, "--require-durable"])
            defer { refused.stop() }
            #expect(try await refused.waitForExit() != 0, "\(role[0])")
            #expect(
                log(refused).contains("--require-durable: Redis maxmemory-policy is allkeys-lru"), "\(log(refused))")
        }
        // The variable asks the same.
        let byVariable = try TaskgateProcess(
            ["worker", "--exec", "true", "--redis-url", redis.url], environment: ["TASKGATE_REQUIRE_DURABLE": "1"])
        defer { byVariable.stop() }
        #expect(try await byVariable.waitForExit() != 0)
    }

    @Test func aDurableRedisStartsBothRolesWithRequireDurableAndTasksRun() async throws {
        let redis = try server(["--appendonly", "yes", "--maxmemory-policy", "noeviction"])
        defer { redis.stop() }
        let (gateway, client) = try gateway(redis, ["--require-durable"])
        defer { gateway.stop() }
        let settings = try await readiness(client, gateway)
        #expect(settings["durable"] as? Bool == true && (settings["warnings"] as? [String])?.isEmpty == true)
        #expect(log(gateway).contains("Redis keeps acknowledged writes"))
        let worker = try TaskgateProcess(["worker", "--redis-url", redis.url, "--exec", "cat", "--require-durable"])
        defer { worker.stop() }
        let created = try client.post("/tasks", json: #"{"payload":"kept"}"#)
        let id = try #require(created.json["id"] as? String)
        try await eventually("the task to succeed") {
            guard worker.process.isRunning else { throw TestFailure("the worker exited: \(log(worker))") }
            return try client.get("/tasks/\(id)").json["state"] as? String == "succeeded"
        }
    }

    @Test func aRedisThatRefusesCONFIGIsReportedAndLetBeEvenWithRequireDurable() async throws {
        let redis = try server(["--rename-command", "CONFIG", ""])
        defer { redis.stop() }
        let (gateway, client) = try gateway(redis, ["--require-durable"])
        defer { gateway.stop() }
        let settings = try await readiness(client, gateway)
        #expect(settings["readable"] as? Bool == false && settings["durable"] is NSNull)
        #expect((settings["detail"] as? String)?.contains("CONFIG") == true)
        #expect(log(gateway).contains("would not tell") && log(gateway).contains("could not be checked"))
    }

    @Test func anUnreachableRedisIsRefusedWithRequireDurableAndLetBeWithout() async throws {
        let url = "redis://127.0.0.1:\(freePort())/0"
        let refused = try TaskgateProcess(["worker", "--exec", "true", "--redis-url", url, "--require-durable"])
        defer { refused.stop() }
        #expect(try await refused.waitForExit() != 0)
        #expect(log(refused).contains("cannot read Redis' settings"))
        // Without the flag the worker starts and waits for Redis, as before.
        let patient = try TaskgateProcess(["worker", "--exec", "true", "--redis-url", url])
        defer { patient.stop() }
        try await eventually("the worker to say it could not read the settings") {
            log(patient).contains("could not read Redis' durability settings")
        }
        #expect(patient.process.isRunning)
    }
}

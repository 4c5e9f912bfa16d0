import Foundation
import Testing

@testable import TaskgateCore
@testable import TaskgateRedis

/// The enqueue transaction (MULTI/EXEC) that stores plain tasks: it writes what the enqueue script writes,
/// announces what it stored, survives Redis forgetting its script, and a resent round stores nothing twice.
@Suite(.dedicatedThreads) struct EnqueueTransactionTests {
    /// Plain submissions with and without each optional field the script stores.
    private static let submissions = [
        TaskSubmission(payload: .string("bare")),
        TaskSubmission(payload: .object([JSONMember("n", .number("1"))]), type: "pdf/render"),
        TaskSubmission(payload: .null, type: "mail.send", maxRetries: 2, timeoutMilliseconds: 1500),
        TaskSubmission(payload: .bool(true), callbackURL: "https://hooks.example.com/done"),
    ]

    private static func run(
        _ transaction: RedisTransaction, on pipeline: RedisPipeline
    ) async -> Result<RedisTransactionReply, RedisError> {
        await withCheckedContinuation { continuation in
            pipeline.run(transaction) { continuation.resume(returning: $0) }
        }
    }

    /// A task's fields as Redis holds them, without the two that differ between any two tasks.
    private static func fields(_ ns: TestNamespace, _ id: TaskID) throws -> [String: String] {
        let flat = try ns.redis("HGETALL", ns.keys.task(id)).array?.compactMap(\.string) ?? []
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) { fields[flat[index]] = flat[index + 1] }
        fields["id"] = nil
        fields["created_at"] = nil
        return fields
    }

    @Test func theTransactionStoresWhatTheScriptStores() async throws {
        let redis = try SingleRedis()
        defer { redis.stop() }
        let (ns, store, pipeline) = (redis.namespace, redis.namespace.store, redis.pipeline)
        #expect(pipeline.runsTransactions)

        let byScript = Self.submissions.map {
            store.enqueueRequest($0, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
        }
        let call = store.enqueueCall(byScript)
        let scriptReply = try ns.pool.withConnection { connection throws(RedisError) in
            try TaskScripts.enqueue.run(on: connection, keys: call.keys, arguments: call.arguments)
        }
        let byTransaction = Self.submissions.map {
            store.enqueueRequest($0, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
        }
        #expect(byTransaction.allSatisfy(RedisTaskStore.isPlain))
        let now = try ns.redisClock()
        let reply = await Self.run(store.enqueueTransaction(byTransaction, now: now), on: pipeline)
        guard case .success(.committed) = reply else {
            Issue.record("not committed: \(reply)")
            return
        }
        let (outcomes, redisTime) = store.enqueueOutcomes(reply, for: byTransaction, now: now)
        let after = try ns.redisClock()
        let time = try #require(redisTime, "TIME read in the transaction")
        #expect(time >= now && time <= after)

        for (index, outcome) in outcomes.enumerated() {
            guard case .success(.created(let record)) = outcome else {
                Issue.record("task \(index): \(outcome)")
                continue
            }
            // The 202's record is the stored one, and the stored fields are the script's, field for field.
            #expect(try store.task(record.id) == record)
            #expect(record.createdAt.milliseconds == now)
            let scripted = try #require(try store.enqueueOutcome(scriptReply, index: index, for: byScript[index]))
            guard case .created(let scriptedRecord) = scripted else {
                Issue.record("script outcome \(scripted)")
                continue
            }
            #expect(try Self.fields(ns, record.id) == Self.fields(ns, scriptedRecord.id))
        }
        // Pushed in their order, after the script's tasks.
        let pending = try ns.redis("LRANGE", ns.keys.pending(.default), 0, -1).array?.compactMap(\.string)
        #expect(pending == (byScript + byTransaction).map(\.id.rawValue).reversed())
    }

    @Test func aResentRoundRunsTheScriptAndStoresNothingTwice() async throws {
        let redis = try SingleRedis()
        defer { redis.stop() }
        let (ns, store, pipeline) = (redis.namespace, redis.namespace.store, redis.pipeline)
        let requests = Self.submissions.map {
            store.enqueueRequest($0, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
        }
        let now = try ns.redisClock()
        let transaction = store.enqueueTransaction(requests, now: now)
        let first = store.enqueueOutcomes(await Self.run(transaction, on: pipeline), for: requests, now: now)

        // What the pipeline sends in the transaction's place when the first send may have landed.
        let resend = transaction.resend()
        let again = try ns.pool.withConnection { connection throws(RedisError) in try resend.runSource(on: connection) }
        let second = store.enqueueOutcomes(.success(.resent(again)), for: requests, now: now)
        for (one, two) in zip(first.outcomes, second.outcomes) {
            #expect(try one.get() == two.get())
        }
        #expect(second.redisTime == nil)
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == requests.count)
    }

    @Test func eachStoredTaskIsAnnouncedEvenAfterRedisForgetsTheScript() async throws {
        let redis = try SingleRedis()
        defer { redis.stop() }
        let (ns, store, pipeline) = (redis.namespace, redis.namespace.store, redis.pipeline)
        let subscriber = try RawSubscriber(server: redis.server, channel: ns.keys.events(.default))

        for round in 0..<2 {
            // The second round finds the script gone: inside EXEC it is refused, and it is run by its source.
            if round == 1 { _ = try ns.redis("SCRIPT", "FLUSH") }
            let requests = Self.submissions.map {
                store.enqueueRequest($0, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
            }
            let now = try ns.redisClock()
            let reply = await Self.run(store.enqueueTransaction(requests, now: now), on: pipeline)
            guard case .success(.committed(let values)) = reply else {
                Issue.record("round \(round): \(reply)")
                continue
            }
            #expect(values.last?.int == requests.count, "round \(round): events published")
            let message = try #require(try subscriber.next().array)
            let lines = try #require(message.last?.string).split(separator: "\n")
            #expect(lines.count == requests.count)
            for (line, request) in zip(lines, requests) {
                let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(event["id"] as? String == request.id.rawValue)
                #expect(event["event"] as? String == "created" && event["state"] as? String == "pending")
                #expect(event["at"] as? Int == now)
                #expect((event["type"] as? String) == request.submission.type)
                #expect(event["queue"] as? String == "default" && event["seq"] as? Int == 1)
            }
        }
    }

    @Test func aRoundCutByABrokenConnectionIsResentAsTheScript() async throws {
        let redis = try SingleRedis()
        defer { redis.stop() }
        let (ns, store, pipeline) = (redis.namespace, redis.namespace.store, redis.pipeline)
        let warmUp = Self.submissions.map {
            store.enqueueRequest($0, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
        }
        let warmed = await Self.run(store.enqueueTransaction(warmUp, now: try ns.redisClock()), on: pipeline)
        guard case .success(.committed) = warmed else {
            Issue.record("the first transaction did not commit: \(warmed)")
            return
        }
        // Redis drops every other client, the pipeline's connection among them: its next round breaks.
        let killed = try ns.redis("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        #expect((killed.int ?? 0) >= 1, "the pipeline's connection was killed: \(killed)")
        let requests = Self.submissions.map {
            store.enqueueRequest($0, idempotencyKey: nil, idempotencyWindowMilliseconds: 0)
        }
        let now = try ns.redisClock()
        let reply = await Self.run(store.enqueueTransaction(requests, now: now), on: pipeline)
        guard case .success(.resent) = reply else {
            Issue.record("not resent as the script: \(reply)")
            return
        }
        for (request, outcome) in zip(requests, store.enqueueOutcomes(reply, for: requests, now: now).outcomes) {
            guard case .success(.created(let record)) = outcome else {
                Issue.record("\(request.id): \(outcome)")
                continue
            }
            #expect(try store.task(record.id) == record)
        }
        #expect(try ns.redis("LLEN", ns.keys.pending(.default)).int == warmUp.count + requests.count)
    }

    @Test func theClockFollowsRedisFromItsFirstReading() throws {
        let clock = RedisClock()
        #expect(clock.now() == nil, "no reading yet: the script is the way")
        // A Redis an hour ahead of this host: its time, read now, is what the clock gives from then on.
        let ahead = Int(Date().timeIntervalSince1970 * 1000) + 3_600_000
        clock.observe(redisMilliseconds: ahead)
        let now = try #require(clock.now())
        #expect(now >= ahead && now < ahead + 60_000)
        clock.observe(redisMilliseconds: 1000)
        #expect(try #require(clock.now()) < 61_000)
    }

    @Test func aClusterPipelineRunsNoTransactions() async throws {
        var configuration = RedisConfiguration()
        configuration.cluster = RedisClusterSettings(seeds: [RedisEndpoint(host: "127.0.0.1", port: 1)])
        let pipeline = RedisPipeline(configuration: configuration, label: "test.cluster")
        #expect(!pipeline.runsTransactions)
        let reply = await Self.run(
            RedisTransaction(
                [RedisCommand("PING")],
                resend: { RedisScriptCall(RedisScript("return 1"), keys: [], arguments: []) }),
            on: pipeline)
        guard case .failure(let error) = reply else {
            Issue.record("ran on a cluster pipeline: \(reply)")
            return
        }
        #expect(error.code == .io)
    }
}

/// A single redis-server of one test's own, a namespace on it and a started pipeline: the transaction runs on a
/// single Redis only (the suites also run on a Cluster), and some tests flush its scripts or kill its clients.
private final class SingleRedis {
    let server = RedisServer()
    let namespace: TestNamespace
    let pipeline: RedisPipeline

    init(function: String = #function) throws {
        try server.start()
        namespace = TestNamespace(server: server, function: function)
        // One writer, as the enqueuer has: every round goes over the one connection a test may break.
        pipeline = RedisPipeline(configuration: server.configuration, label: "test.transaction", writers: 1)
        pipeline.start()
    }

    func stop() {
        pipeline.stop()
        server.stop()
    }
}

import Logging
import TaskgateCore
import TaskgateHTTP

/// The HTTP pull API for workers that cannot be reached: claim tasks under a lease, then heartbeat, complete or
/// fail each with its attempt token. Every step is the task store's own (the very scripts the Swift worker
/// runs), so there is no second implementation of any state change.
///
/// Cost per call: a claim is one claim script (`RPOP` with a count, then per task an `HMGET` and an `HSET`) and,
/// when it waits, one `BLMOVE` and the start script; heartbeat is one script of two reads and a `ZADD`;
/// complete is its script plus one `HGETALL` to answer with the record; fail reads the record first (its retry
/// count sets the backoff), then runs its script and reads the record again to answer.
struct PullAPI: Sendable {
    let store: any TaskStore
    let waiters: ClaimWaiters
    let maintenance: PullMaintenance
    let retryPolicy: RetryPolicy
    let retentionMilliseconds: Int
    /// Which queues may be claimed from: a claim registers its queue, as a Swift worker does at start, within
    /// `--max-queues` and `--queues`; `nil` for any, unregistered.
    let gate: QueueGate?
    /// Reads a claimed child's parents (``RedisTaskStore/parents(of:)``): one `HGETALL` per task with `after`.
    var parents: RedisTaskStore? = nil

    /// The default and the bounds of the request fields.
    static let defaultLeaseMilliseconds = 30_000
    static let leaseSeconds: ClosedRange<Double> = 1...3600
    static let maxClaim = 100
    static let maxWaitSeconds = 30.0
    static let maxErrorBytes = 64 * 1024
    static let maxResultBytes = 1 << 20

    /// A parsed claim request.
    struct ClaimRequest: Sendable {
        let queue: QueueName
        let max: Int
        let leaseMilliseconds: Int
        let waitMilliseconds: Int
    }

    /// `POST /queues/{queue}/claim`: answers at once, or later through `reply` when it waits for a task.
    func claim(_ request: HTTPRequest, queue rawQueue: String?, reply: HTTPReply) {
        let claim: ClaimRequest
        switch parseClaim(request, queue: rawQueue) {
        case .failure(let refusal):
            reply.send(refusal.response)
            return
        case .success(let parsed): claim = parsed
        }
        let claimed: [ClaimedTask]
        do {
            claimed = try store.claimBatch(
                from: claim.queue, max: claim.max, leaseMilliseconds: claim.leaseMilliseconds)
        } catch {
            reply.send(Self.storeProblem(error, leaseMilliseconds: claim.leaseMilliseconds))
            return
        }
        let lease = claim.leaseMilliseconds
        guard claimed.isEmpty, claim.waitMilliseconds > 0 else {
            reply.send(claimAnswer(claimed, leaseMilliseconds: lease))
            return
        }
        let limit = waiters.limit
        let store = self.store
        let api = self
        waiters.wait(
            reply: reply,
            {
                Result { () throws(TaskStoreError) -> [ClaimedTask] in try Self.waitAndClaim(claim, store: store) }
            },
            render: { outcome in
                switch outcome {
                case .success(let tasks): return api.claimAnswer(tasks, leaseMilliseconds: lease)
                case .failure(let error): return Self.storeProblem(error, leaseMilliseconds: lease)
                }
            },
            busy: {
                Problem.tooManyWaitingClaims(limit: limit, retryAfterSeconds: GatewayResponder.retryAfterSeconds)
                    .response
            })
    }

    /// `POST /queues/{queue}/claim` answered on the calling thread, which waits in Redis when it must (for
    /// embedders that call ``GatewayResponder/respond(to:)``; the server suspends the request instead).
    func claimBlocking(_ request: HTTPRequest, queue rawQueue: String?) -> HTTPResponse {
        let claim: ClaimRequest
        switch parseClaim(request, queue: rawQueue) {
        case .failure(let refusal): return refusal.response
        case .success(let parsed): claim = parsed
        }
        do throws(TaskStoreError) {
            var tasks = try store.claimBatch(
                from: claim.queue, max: claim.max, leaseMilliseconds: claim.leaseMilliseconds)
            if tasks.isEmpty, claim.waitMilliseconds > 0 { tasks = try Self.waitAndClaim(claim, store: store) }
            return claimAnswer(tasks, leaseMilliseconds: claim.leaseMilliseconds)
        } catch {
            return Self.storeProblem(error, leaseMilliseconds: claim.leaseMilliseconds)
        }
    }

    /// The answer to a claim: each child with its parents' outcomes. A failure to read them answers the store's
    /// problem; the tasks claimed come back when their lease ends, as a lost worker's do.
    func claimAnswer(_ tasks: [ClaimedTask], leaseMilliseconds: Int) -> HTTPResponse {
        var tasks = tasks
        if let parents {
            do throws(TaskStoreError) {
                for index in tasks.indices where !tasks[index].record.after.isEmpty {
                    tasks[index].record = try parents.parents(of: tasks[index].record)
                }
            } catch {
                return Self.storeProblem(error, leaseMilliseconds: leaseMilliseconds)
            }
        }
        return Self.json(200, TaskRepresentation.claim(tasks, leaseMilliseconds: leaseMilliseconds))
    }

    /// Waits in Redis (`BLMOVE`, woken by the next enqueue) up to the claim's wait for one task, then claims up to
    /// `max` in all: the same two steps as a Swift worker's fetcher on an empty queue.
    private static func waitAndClaim(_ claim: ClaimRequest, store: any TaskStore) throws(TaskStoreError)
        -> [ClaimedTask]
    {
        guard
            let first = try store.claim(
                from: claim.queue, blockMilliseconds: claim.waitMilliseconds, leaseMilliseconds: claim.leaseMilliseconds
            )
        else { return [] }
        guard claim.max > 1 else { return [first] }
        do throws(TaskStoreError) {
            return [first]
                + (try store.claimBatch(
                    from: claim.queue, max: claim.max - 1, leaseMilliseconds: claim.leaseMilliseconds))
        } catch  where error.code.isHold {
            // The first task is claimed and leased already: it must be handed out whatever holds the rest.
            return [first]
        }
    }

    private func parseClaim(_ request: HTTPRequest, queue rawQueue: String?) -> Result<ClaimRequest, Refusal> {
        guard let rawQueue, let queue = QueueName(rawQueue) else {
            return .failure(
                Refusal(Problem.notFound("no queue \(rawQueue ?? ""): queue names match [A-Za-z0-9._-]{1,64}")))
        }
        do throws(TaskValidationError) {
            let fields = try RequestFields(body: request.body, allowed: ["max", "lease_seconds", "wait_seconds"])
            let claim = ClaimRequest(
                queue: queue, max: try fields.integer("max", in: 1...Self.maxClaim) ?? 1,
                leaseMilliseconds: try fields.milliseconds("lease_seconds", in: Self.leaseSeconds)
                    ?? Self.defaultLeaseMilliseconds,
                waitMilliseconds: try fields.milliseconds("wait_seconds", in: 0...Self.maxWaitSeconds) ?? 0)
            // Registered (and bounded) before it is looked after: a claim on a name no one uses cannot grow the
            // gateway's maintenance past the registry's bound.
            if let problem = gate?.admit(queue, field: nil) { return .failure(Refusal(problem)) }
            maintenance.claimed(from: queue)
            return .success(claim)
        } catch {
            return .failure(Refusal(Problem.invalid(error)))
        }
    }

    /// `POST /tasks/{id}/heartbeat`.
    func heartbeat(_ request: HTTPRequest, id rawID: String?) -> HTTPResponse {
        withLease(request, id: rawID, fields: ["token", "lease_seconds"]) { lease, fields throws(Refusal) in
            let milliseconds = try Refusal.invalid {
                () throws(TaskValidationError) -> Int in
                try fields.milliseconds("lease_seconds", in: Self.leaseSeconds) ?? Self.defaultLeaseMilliseconds
            }
            let lost = try Refusal.store { () throws(TaskStoreError) in
                try store.extend([lease], leaseMilliseconds: milliseconds)
            }
            guard lost.isEmpty else { throw try leaseLost(lease.id) }
            return Self.json(200, TaskRepresentation.heartbeat(lease.id, leaseMilliseconds: milliseconds))
        }
    }

    /// `POST /tasks/{id}/complete`.
    func complete(_ request: HTTPRequest, id rawID: String?) -> HTTPResponse {
        withLease(request, id: rawID, fields: ["token", "result"]) { lease, fields throws(Refusal) in
            let result = fields.value("result").map(TaskResult.init) ?? .null
            guard result.json.utf8.count <= Self.maxResultBytes else {
                throw Refusal(
                    Problem.invalid(
                        TaskValidationError(
                            .invalidField, field: "/result", "result is longer than \(Self.maxResultBytes) bytes")))
            }
            do throws(TaskStoreError) {
                try store.complete(lease, result: result, retentionMilliseconds: retentionMilliseconds)
            } catch  where error.code == .leaseLost {
                throw try leaseLost(lease.id)
            } catch {
                throw Refusal(error)
            }
            return try record(lease.id)
        }
    }

    /// `POST /tasks/{id}/fail`.
    func fail(_ request: HTTPRequest, id rawID: String?) -> HTTPResponse {
        withLease(request, id: rawID, fields: ["token", "error", "retry_after_seconds"]) {
            lease, fields throws(Refusal) in
            let (message, retryAfter) = try Refusal.invalid { () throws(TaskValidationError) -> (String, Int?) in
                let message = try fields.string("error", maxLength: Self.maxErrorBytes) ?? "failed"
                return (
                    message.isEmpty ? "failed" : message, try fields.milliseconds("retry_after_seconds", in: 0...86_400)
                )
            }
            // The backoff policy needs the retry count; the fail script re-checks the token and the state.
            guard let current = try Refusal.store({ () throws(TaskStoreError) in try store.task(lease.id) }) else {
                throw try leaseLost(lease.id)
            }
            let backoff = retryAfter ?? retryPolicy.delayMilliseconds(forRetry: current.retries + 1)
            do throws(TaskStoreError) {
                _ = try store.fail(
                    lease, error: message, backoffMilliseconds: backoff, retentionMilliseconds: retentionMilliseconds)
            } catch  where error.code == .leaseLost {
                throw try leaseLost(lease.id)
            } catch {
                throw Refusal(error)
            }
            return try record(lease.id)
        }
    }

    // MARK: - Shared steps

    /// A problem answer on its way out of a step.
    struct Refusal: Error {
        let response: HTTPResponse

        init(_ problem: Problem) {
            response = problem.response
        }

        init(_ error: TaskStoreError) {
            response = PullAPI.storeProblem(error)
        }

        static func invalid<T>(_ body: () throws(TaskValidationError) -> T) throws(Refusal) -> T {
            do { return try body() } catch { throw Refusal(Problem.invalid(error)) }
        }

        static func store<T>(_ body: () throws(TaskStoreError) -> T) throws(Refusal) -> T {
            do { return try body() } catch { throw Refusal(error) }
        }
    }

    /// Parses the id and the body, builds the lease from the token, and runs `step`.
    private func withLease(
        _ request: HTTPRequest, id rawID: String?, fields allowed: Set<String>,
        _ step: (Lease, RequestFields) throws(Refusal) -> HTTPResponse
    ) -> HTTPResponse {
        guard let rawID, let id = TaskID(rawID) else {
            return Problem.notFound("no task \(rawID ?? ""): ids look like <queue>.<32 hex digits>").response
        }
        do throws(Refusal) {
            let (fields, token) = try Refusal.invalid { () throws(TaskValidationError) -> (RequestFields, String) in
                let fields = try RequestFields(body: request.body, allowed: allowed)
                // No length limit of its own (the body limit bounds it): a token that is not the attempt's gets 409.
                return (fields, try fields.requiredString("token", maxLength: Int.max))
            }
            return try step(Lease(id: id, token: token), fields)
        } catch {
            return error.response
        }
    }

    /// 409 with the task's current state, or 404 when the task is unknown.
    private func leaseLost(_ id: TaskID) throws(Refusal) -> Refusal {
        guard let record = try Refusal.store({ () throws(TaskStoreError) in try store.task(id) }) else {
            return Refusal(Problem.notFound("no task \(id): unknown, or expired after its retention time"))
        }
        return Refusal(Problem.leaseLost(id, state: record.state))
    }

    /// 200 with the task's record as it is now.
    private func record(_ id: TaskID) throws(Refusal) -> HTTPResponse {
        guard let record = try Refusal.store({ () throws(TaskStoreError) in try store.task(id) }) else {
            throw Refusal(Problem.notFound("no task \(id): it expired right after this report"))
        }
        return Self.json(200, TaskRepresentation.task(record))
    }

    /// The answer to a claim the store refused: a problem, or, when the queue's settings held it back, no tasks
    /// under the lease asked for, a `Retry-After` saying when to claim again and `Taskgate-Held` saying why
    /// (`paused`, `max_active`, `rate_limited`: the claim scripts' own words).
    static func storeProblem(
        _ error: TaskStoreError, leaseMilliseconds: Int = defaultLeaseMilliseconds
    ) -> HTTPResponse {
        guard error.code.isHold else {
            return Problem.store(error, retryAfterSeconds: GatewayResponder.retryAfterSeconds).response
        }
        let wait =
            error.code == .paused
            ? Self.pausedRetryAfterSeconds : ((error.retryAfterMilliseconds ?? 1000) + 999) / 1000
        let why = [TaskStoreError.Code.paused: "paused", .maxActive: "max_active"][error.code] ?? "rate_limited"
        return HTTPResponse(
            status: 200,
            headers: [
                ("Content-Type", "application/json"), ("Retry-After", String(max(1, wait))), ("Taskgate-Held", why),
            ],
            body: TaskRepresentation.claim([], leaseMilliseconds: leaseMilliseconds))
    }

    /// Seconds a pull worker is asked to wait before claiming again from a paused queue.
    static let pausedRetryAfterSeconds = 5

    static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
}

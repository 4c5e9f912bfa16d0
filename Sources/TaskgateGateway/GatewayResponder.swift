import Logging
import TaskgateCore
import TaskgateHTTP
import TaskgateRedis

/// The gateway's HTTP API: routes requests to the task store and shapes every answer, errors included.
///
/// A class, so that the server threads share one instance rather than copy its parts for every request.
public final class GatewayResponder: HTTPResponder {
    private let store: any TaskStore
    private let idempotencyWindowMilliseconds: Int
    private let logger: Logger
    private let router: Router
    private let tokens: BearerTokens?
    private let openAccess: OpenAccess
    private let pull: PullAPI
    private let notifications: NotificationsAPI?
    private let metrics: GatewayMetrics?
    /// The method a request-count label names: the usual ones as they are, any other as `other` (labels stay
    /// few). A switch, not a set: nothing is hashed for each answer.
    private static func countedMethod(_ method: String) -> String {
        switch method {
        case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS": method
        default: "other"
        }
    }
    /// Paths open without a token: the probes an orchestrator calls, and the dashboard's files (which hold no data:
    /// the page asks its user for a token and sends it with every API call).
    /// `/whoami` is open too: it tells whether tokens are required and what the one sent may do, which a 401 from
    /// any other path would tell as well.
    private static let openPaths: Set<String> = Set(["/healthz", "/readyz", "/whoami"]).union(Dashboard.paths)
    /// Seconds a client is asked to wait in `Retry-After` when Redis is unavailable.
    public static let retryAfterSeconds = 1

    /// Creates the responder over a task store; with `tokens`, every endpoint but the probes needs one of them
    /// (with the scope the endpoint needs); without, `openAccess` refuses what a web page would send (see
    /// ``OpenAccess``). With an `enqueuer`, `POST /tasks` is answered through it, without
    /// holding a server thread. `pull` configures the pull API for workers over HTTP. `durability` reads Redis'
    /// eviction policy and persistence for `GET /readyz` (`nil` when Redis could not be asked).
    public init(
        store: any TaskStore, enqueuer: (any TaskEnqueuing)? = nil, logger: Logger, tokens: BearerTokens? = nil,
        openAccess: OpenAccess = OpenAccess(),
        idempotencyWindowMilliseconds: Int = 86_400_000, pull: PullConfiguration = PullConfiguration(),
        notifications: NotificationsAPI? = nil, callbackAllow: CallbackAllowList = .none,
        operations: Operations? = nil, metrics: GatewayMetrics? = nil,
        durability: (@Sendable () -> RedisDurability?)? = nil
    ) {
        let gate = operations?.gate
        let pullAPI = PullAPI(
            store: store, waiters: ClaimWaiters(store: store, limit: pull.maxWaitingClaims, logger: logger),
            maintenance: PullMaintenance(
                store: store, retentionMilliseconds: pull.retentionMilliseconds, releaser: operations?.releaser,
                logger: logger),
            retryPolicy: pull.retryPolicy, retentionMilliseconds: pull.retentionMilliseconds, gate: gate,
            parents: operations?.batchStore)
        self.pull = pullAPI
        self.store = store
        self.idempotencyWindowMilliseconds = idempotencyWindowMilliseconds
        self.logger = logger
        self.tokens = tokens
        self.openAccess = openAccess
        self.notifications = notifications
        self.metrics = metrics
        let replay = ReplayScope(tokens: tokens)
        let workflows = operations.map { operations in
            WorkflowsAPI(
                store: operations.batchStore, callbackAllow: callbackAllow, gate: operations.gate,
                retentionMilliseconds: operations.retentionMilliseconds,
                workflowRetentionMilliseconds: operations.workflowRetentionMilliseconds,
                retryAfterSeconds: Self.retryAfterSeconds, metrics: metrics, notifications: notifications,
                releaser: operations.releaser)
        }
        // Children are read for a task that has them (their set lives beside its record).
        let children = operations?.batchStore
        var router = Router()
        router.add(
            "POST", "/tasks",
            { request, _ in
                Self.createTask(
                    request, store: store, window: idempotencyWindowMilliseconds, callbackAllow: callbackAllow,
                    gate: gate, metrics: metrics, replay: replay, workflows: workflows, logger: logger)
            },
            deferred: { request, _, reply in
                guard let enqueuer else {
                    reply.send(
                        Self.createTask(
                            request, store: store, window: idempotencyWindowMilliseconds,
                            callbackAllow: callbackAllow, gate: gate, metrics: metrics, replay: replay,
                            workflows: workflows, logger: logger))
                    return
                }
                Self.enqueue(
                    request, through: enqueuer, window: idempotencyWindowMilliseconds, callbackAllow: callbackAllow,
                    gate: gate, metrics: metrics, replay: replay, workflows: workflows, logger: logger, reply: reply)
            })
        router.add(
            "GET", "/tasks/:id",
            { request, parameters in
                // Answered in place (a HEAD, or a caller without a reply): no wait, but a bad one is still a 400.
                if case .failure(let problem) = NotificationsAPI.wait(request) { return problem.response }
                return Self.withTask(parameters["id"], store: store, children: children) { TaskRepresentation.task($0) }
            },
            deferred: { request, parameters, reply in
                let render: @Sendable () -> HTTPResponse = {
                    Self.withTask(parameters["id"], store: store, children: children) {
                        TaskRepresentation.task($0)
                    }
                }
                guard let notifications else { return reply.send(render()) }
                notifications.waitForTask(request, id: parameters["id"], reply: reply, render: render)
            })
        router.add(
            "GET", "/tasks/:id/events",
            { request, parameters in
                guard request.method == "HEAD", let notifications else { return Self.streamsNeedTheServer() }
                return notifications.taskEventsHead(id: parameters["id"])
            },
            deferred: { request, parameters, reply in
                guard let notifications else { return reply.send(Self.streamsNeedTheServer()) }
                notifications.taskEvents(request, id: parameters["id"], reply: reply)
            })
        router.add(
            "GET", "/queues/:queue/events",
            { request, parameters in
                guard request.method == "HEAD", let notifications else { return Self.streamsNeedTheServer() }
                return notifications.queueEventsHead(queue: parameters["queue"])
            },
            deferred: { request, parameters, reply in
                guard let notifications else { return reply.send(Self.streamsNeedTheServer()) }
                notifications.queueEvents(request, queue: parameters["queue"], reply: reply)
            })
        router.add(
            "GET", "/events",
            { request, _ in
                guard request.method == "HEAD", let notifications else { return Self.streamsNeedTheServer() }
                return notifications.eventsHead(request)
            },
            deferred: { request, _, reply in
                guard let notifications else { return reply.send(Self.streamsNeedTheServer()) }
                notifications.events(request, reply: reply)
            })
        router.add("GET", "/whoami") { request, _ in
            Self.json(200, Self.whoami(tokens: tokens, authorization: request.header("authorization")))
        }
        Dashboard.register(on: &router)
        router.add("GET", "/tasks/:id/retries") { _, parameters in
            Self.withTask(parameters["id"], store: store) { TaskRepresentation.retries($0) }
        }
        router.add(
            "POST", "/queues/:queue/claim",
            { request, parameters in pullAPI.claimBlocking(request, queue: parameters["queue"]) },
            deferred: { request, parameters, reply in pullAPI.claim(request, queue: parameters["queue"], reply: reply) }
        )
        router.add("POST", "/tasks/:id/heartbeat") { request, parameters in
            pullAPI.heartbeat(request, id: parameters["id"])
        }
        router.add("POST", "/tasks/:id/complete") { request, parameters in
            pullAPI.complete(request, id: parameters["id"])
        }
        router.add("POST", "/tasks/:id/fail") { request, parameters in
            pullAPI.fail(request, id: parameters["id"])
        }
        router.add("GET", "/healthz") { _, _ in Self.json(200, .object([JSONMember("status", .string("ok"))])) }
        router.add("GET", "/readyz") { _, _ in
            do throws(TaskStoreError) {
                try store.ping()
                var members = [JSONMember("status", .string("ready"))]
                members += Self.access(tokens: tokens, openAccess: openAccess)
                if let durability { members.append(JSONMember("redis", Self.durability(durability()))) }
                return Self.json(200, .object(members))
            } catch {
                return Problem.store(error, retryAfterSeconds: Self.retryAfterSeconds).response
            }
        }
        if let metrics {
            // Queue figures come from the registry's queues when the operator's seam is there.
            let inspector = operations?.inspector
            router.add("GET", "/metrics") { _, _ in
                metrics.scrape(inspector: inspector, retryAfterSeconds: Self.retryAfterSeconds)
            }
        }
        if let operations, let workflows {
            QueuesAPI(
                inspector: operations.inspector, control: operations.control, retryAfterSeconds: Self.retryAfterSeconds
            ).register(on: &router)
            TasksAPI(
                control: operations.tasks, store: store, batchStore: operations.batchStore,
                callbackAllow: callbackAllow,
                gate: operations.gate, idempotencyWindowMilliseconds: idempotencyWindowMilliseconds,
                retryAfterSeconds: Self.retryAfterSeconds, metrics: metrics, replay: replay, workflows: workflows
            ).register(on: &router)
            workflows.register(on: &router)
            SchedulesAPI(
                control: operations.schedules, store: operations.batchStore, callbackAllow: callbackAllow,
                gate: operations.gate, retryAfterSeconds: Self.retryAfterSeconds
            ).register(on: &router)
        }
        self.router = router
    }

    /// The operator's seams the queue endpoints use (``QueueInspector``, ``QueueControl``) and the registry every
    /// `POST /tasks` keeps up to date.
    public struct Operations: Sendable {
        public let registry: QueueRegistry
        /// Which queues clients may use (`--queues`, `--max-queues`).
        public let gate: QueueGate
        /// Removes abandoned queues from the registry.
        public let pruner: QueuePruner
        public let inspector: QueueInspector
        public let control: QueueControl
        public let tasks: TaskControl
        /// Stores `POST /tasks/batch`, one script call per queue.
        public let batchStore: RedisTaskStore
        /// The schedules' seam.
        public let schedules: ScheduleControl
        /// Tells children and batches of the pulled queues' tasks how their parents ended.
        public let releaser: WorkflowReleaser
        /// How long a task cancelled at once (its parent failed already) is kept.
        public let retentionMilliseconds: Int
        /// How long a waiting task waits and a batch lives (``WorkflowLimits/defaultRetentionMilliseconds``).
        public let workflowRetentionMilliseconds: Int

        /// Builds the seams over one pool; a cancelled task's record is kept `retentionMilliseconds`; clients may
        /// make up to `maxQueues` queues (0: no bound), and use only `allowedQueues` when it is given; waiting
        /// tasks and batches live `workflowRetentionMilliseconds`.
        public init(
            pool: RedisConnectionPool, keys: KeySpace, retentionMilliseconds: Int = 86_400_000,
            maxQueues: Int = QueueRegistry.defaultMaxQueues, allowedQueues: Set<QueueName>? = nil,
            maxSchedules: Int = ScheduleControl.defaultMaxSchedules,
            workflowRetentionMilliseconds: Int = WorkflowLimits.defaultRetentionMilliseconds
        ) {
            self.retentionMilliseconds = retentionMilliseconds
            self.workflowRetentionMilliseconds = workflowRetentionMilliseconds
            self.releaser = WorkflowReleaser(
                pool: pool, keys: keys, retentionMilliseconds: retentionMilliseconds,
                workflowRetentionMilliseconds: workflowRetentionMilliseconds)
            self.schedules = ScheduleControl(pool: pool, keys: keys, maxSchedules: maxSchedules)
            let registry = QueueRegistry(pool: pool, keys: keys, maxQueues: maxQueues)
            self.registry = registry
            self.gate = QueueGate(registry: registry, allowed: allowedQueues)
            self.inspector = QueueInspector(pool: pool, keys: keys, registry: registry)
            self.pruner = QueuePruner(inspector: inspector, registry: registry)
            self.control = QueueControl(pool: pool, keys: keys, registry: registry)
            self.tasks = TaskControl(
                pool: pool, keys: keys, retentionMilliseconds: retentionMilliseconds,
                workflowRetentionMilliseconds: workflowRetentionMilliseconds)
            self.batchStore = RedisTaskStore(pool: pool, keys: keys)
        }
    }

    public func preflight(_ head: HTTPRequest) -> HTTPResponse? {
        if let refusal = authenticate(head) { return refusal }
        switch router.match(method: head.method, path: head.path) {
        case .notFound:
            return Problem.notFound("no resource at \(head.path)").response
        case .methodNotAllowed(let allow):
            return Problem.methodNotAllowed(head.method, allow: allow).response
        case .found:
            guard head.method == "POST" || head.method == "PUT", head.mediaType != "application/json" else {
                return nil
            }
            // An action with no body at all (`curl -X POST .../pause`) needs no Content-Type.
            let bodiless =
                head.mediaType == nil && (head.contentLength ?? 0) == 0 && head.header("transfer-encoding") == nil
            return bodiless ? nil : Problem.unsupportedMediaType(head.mediaType).response
        }
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        if !request.passedPreflight, let refusal = authenticate(request) { return refusal }
        switch router.match(method: request.method, path: request.path) {
        case .found(let handler, let parameters):
            return handler(request, parameters)
        case .notFound, .methodNotAllowed:
            return preflight(request) ?? Problem.notFound("no resource at \(request.path)").response
        }
    }

    public func respond(to request: HTTPRequest, reply: HTTPReply) {
        // Routes answered in place (and refusals) go through respond(to:), which authenticates once. So does HEAD:
        // its answer is the head a GET would get, with no stream opened and no wait.
        // Authenticated once: preflight did it for a request the server already asked about.
        guard request.method != "HEAD",
            let (deferred, parameters) = router.deferredMatch(method: request.method, path: request.path),
            request.passedPreflight || authenticate(request) == nil
        else {
            reply.send(respond(to: request))
            return
        }
        deferred(request, parameters, reply)
    }

    public func responded(_ head: HTTPRequest, status: Int, after elapsed: Duration) {
        guard let metrics else { return }
        let method = Self.countedMethod(head.method)
        metrics.answered(
            route: router.pattern(method: head.method, path: head.path) ?? "unmatched", method: method,
            status: status, after: elapsed)
    }

    public func payloadTooLarge(_ head: HTTPRequest, limit: Int) -> HTTPResponse {
        Problem.payloadTooLarge(limit: limit).response
    }

    public func overloaded(_ head: HTTPRequest, retryAfterSeconds: Int) -> HTTPResponse {
        Problem.overloaded(retryAfterSeconds: retryAfterSeconds).response
    }

    /// The in-place answer of a stream route, for callers of ``respond(to:)`` that have no reply to stream on.
    private static func streamsNeedTheServer() -> HTTPResponse {
        Problem(
            status: 501, code: "not-implemented", title: "Not implemented",
            detail: "event streams are served by the gateway's HTTP server only"
        ).response
    }

    /// Answers waiting pull claims (with no tasks) and stops looking after pull queues; call before the server
    /// stops, so that no connection stays suspended.
    public func shutdown() {
        notifications?.hub.stop()
        pull.maintenance.stop()
        pull.waiters.shutdown {
            HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: TaskRepresentation.claim([], leaseMilliseconds: PullAPI.defaultLeaseMilliseconds))
        }
    }

    /// A 401 answer when tokens are required and the request has none valid, a 403 when its token lacks the
    /// endpoint's scope; without tokens, what ``OpenAccess`` refuses (421, 403); `nil` to go on. Checked before routing, so an unauthenticated client learns nothing
    /// about which paths exist.
    private func authenticate(_ head: HTTPRequest) -> HTTPResponse? {
        guard !Self.openPaths.contains(head.path) else { return nil }
        guard let tokens else { return openAccess.refusal(head)?.response }
        let authorization = head.header("authorization")
        guard let scopes = tokens.scopes(authorization: authorization) else {
            return Problem.unauthorized(tokenSent: authorization != nil).response
        }
        let needed = Self.scope(method: head.method, path: head.path)
        return scopes.contains(needed) ? nil : Problem.forbidden(needs: needed).response
    }

    /// The scope a request needs: `read` for `GET`, `HEAD` and methods that change nothing, `submit` for
    /// `POST /tasks` and `/tasks/batch`, `worker` for the pull API's paths, `admin` for every other change
    /// (pause, resume, limits, requeue, cancel, delete). Decided before routing, so a change to a path that
    /// does not exist needs `admin` too: only an admin token learns that it does not (404 or 405).
    static func scope(method: String, path: String) -> AccessScopes {
        // The pull API's paths, whatever the method (a wrong one gets its 405).
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        if segments.count == 4,
            segments[1] == "queues" && segments[3] == "claim"
                || segments[1] == "tasks" && ["heartbeat", "complete", "fail"].contains(segments[3])
        {
            return .worker
        }
        // Methods that change nothing here (GET, HEAD, and any the gateway does not serve, which get their 405).
        guard ["POST", "PUT", "DELETE", "PATCH"].contains(method) else { return .read }
        if path == "/tasks" || path == "/tasks/batch" { return .submit }
        return .admin
    }

    private static func withTask(
        _ rawID: String?, store: any TaskStore, children: RedisTaskStore? = nil, render: (TaskRecord) -> [UInt8]
    ) -> HTTPResponse {
        guard let rawID, let id = TaskID(rawID) else {
            return Problem.notFound("no task \(rawID ?? ""): ids look like <queue>.<32 hex digits>").response
        }
        do {
            guard var record = try store.task(id) else {
                return Problem.notFound("no task \(id): unknown, or expired after its retention time").response
            }
            if let children { record = try children.children(of: record) }
            return json(200, render(record))
        } catch {
            return Problem.store(error, retryAfterSeconds: retryAfterSeconds).response
        }
    }

    /// `/readyz`'s `auth` member (`tokens` or `open`) and, when the gateway is open beyond loopback, its `warning`.
    private static func access(tokens: BearerTokens?, openAccess: OpenAccess) -> [JSONMember] {
        guard tokens == nil else { return [JSONMember("auth", .string("tokens"))] }
        var members = [JSONMember("auth", .string("open"))]
        if let warning = openAccess.warning { members.append(JSONMember("warning", .string(warning))) }
        return members
    }

    private static func json(_ status: Int, _ value: JSONValue) -> HTTPResponse {
        json(status, value.serializedBytes)
    }

    private static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
}

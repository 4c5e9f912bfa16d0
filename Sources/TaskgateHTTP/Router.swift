/// Matches a request's method and path to a handler, with `:name` path parameters.
///
/// `HEAD` is answered by a path's `GET` route unless it has a `HEAD` route of its own (RFC 9110 §9.3.2);
/// libmicrohttpd sends a `HEAD` answer's head alone.
public struct Router: Sendable {
    /// A handler for one route; `parameters` holds the `:name` segments of the path.
    public typealias Handler = @Sendable (_ request: HTTPRequest, _ parameters: [String: String]) -> HTTPResponse
    /// A handler that answers through `reply`, now or later (the server suspends the request meanwhile).
    public typealias DeferredHandler =
        @Sendable (_ request: HTTPRequest, _ parameters: [String: String], _ reply: HTTPReply) -> Void

    /// What the router decided for a request.
    public enum Match: Sendable {
        /// A route matched.
        case found(Handler, parameters: [String: String])
        /// No route has this path.
        case notFound
        /// The path exists but not with this method; `allow` lists the methods it has.
        case methodNotAllowed(allow: [String])
    }

    private struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Substring]
        let handler: Handler
        let deferred: DeferredHandler?
        /// No `:name` segments: matched by comparing the whole path.
        let isStatic: Bool
    }

    private var routes: [Route] = []
    /// Paths of static routes: such a path is theirs alone (`/tasks/batch` is not a `/tasks/:id`).
    private var staticPaths: Set<String> = []

    /// Creates an empty router.
    public init() {}

    /// Adds a route such as `("GET", "/tasks/:id")`.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        routes.append(
            Route(
                method: method, pattern: pattern, segments: Self.segments(pattern), handler: handler, deferred: nil,
                isStatic: !pattern.contains(":")))
        if !pattern.contains(":") { staticPaths.insert(pattern) }
    }

    /// Adds a route the server answers through `deferred` (which may wait for Redis without holding a thread);
    /// `handler` answers the same request in place, for callers of ``HTTPResponder/respond(to:)``.
    public mutating func add(
        _ method: String, _ pattern: String, _ handler: @escaping Handler, deferred: @escaping DeferredHandler
    ) {
        routes.append(
            Route(
                method: method, pattern: pattern, segments: Self.segments(pattern), handler: handler,
                deferred: deferred, isStatic: !pattern.contains(":")))
        if !pattern.contains(":") { staticPaths.insert(pattern) }
    }

    /// The deferred handler of the route for a method and path, when it has one (never for a `HEAD` answered by a
    /// `GET` route: a head alone needs no waiting).
    public func deferredMatch(method: String, path: String) -> (DeferredHandler, parameters: [String: String])? {
        guard let index = routeIndex(method: method, path: path), let deferred = routes[index.route].deferred else {
            return nil
        }
        return (deferred, index.parameters)
    }

    /// The pattern of the route that answers a method and path (`/tasks/:id`), `nil` when none does; a `HEAD`
    /// answered by a `GET` route gets that route's pattern. For metrics: a label per route, not per path.
    public func pattern(method: String, path: String) -> String? {
        if let index = routeIndex(method: method, path: path) { return routes[index.route].pattern }
        if method == "HEAD", let index = routeIndex(method: "GET", path: path) { return routes[index.route].pattern }
        return nil
    }

    private func routeIndex(method: String, path: String) -> (route: Int, parameters: [String: String])? {
        var segments: [Substring]?
        let staticOnly = staticPaths.contains(path)
        for (index, route) in routes.enumerated() where route.method == method {
            if route.isStatic {
                if route.pattern == path { return (index, [:]) }
                continue
            }
            if staticOnly { continue }
            if segments == nil { segments = Self.segments(path) }
            if let parameters = Self.parameters(route.segments, segments ?? []) { return (index, parameters) }
        }
        return nil
    }

    /// Finds the route for a method and path.
    public func match(method: String, path: String) -> Match {
        var segments: [Substring]?
        var allowed: [String] = []
        var get: (Handler, [String: String])?
        let staticOnly = staticPaths.contains(path)
        for route in routes {
            let parameters: [String: String]?
            if route.isStatic {
                parameters = route.pattern == path ? [:] : nil
            } else if staticOnly {
                parameters = nil
            } else {
                if segments == nil { segments = Self.segments(path) }
                parameters = Self.parameters(route.segments, segments ?? [])
            }
            guard let parameters else { continue }
            if route.method == method { return .found(route.handler, parameters: parameters) }
            if route.method == "GET" && get == nil { get = (route.handler, parameters) }
            allowed.append(route.method)
        }
        if method == "HEAD", let get { return .found(get.0, parameters: get.1) }
        if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allow: allowed)
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
    }

    private static func parameters(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, actual) in zip(pattern, path) {
            if expected.hasPrefix(":") {
                guard !actual.isEmpty else { return nil }
                parameters[String(expected.dropFirst())] = String(actual)
            } else if expected != actual {
                return nil
            }
        }
        return parameters
    }
}

/// Matches a request's method and path to a handler, with `:name` path parameters.
public struct Router: Sendable {
    /// A handler for one route; `parameters` holds the `:name` segments of the path.
    public typealias Handler = @Sendable (_ request: HTTPRequest, _ parameters: [String: String]) -> HTTPResponse

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
        let segments: [Substring]
        let handler: Handler
    }

    private var routes: [Route] = []

    /// Creates an empty router.
    public init() {}

    /// Adds a route such as `("GET", "/tasks/:id")`.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: Self.segments(pattern), handler: handler))
    }

    /// Finds the route for a method and path.
    public func match(method: String, path: String) -> Match {
        let segments = Self.segments(path)
        var allowed: [String] = []
        for route in routes {
            guard let parameters = Self.parameters(route.segments, segments) else { continue }
            if route.method == method { return .found(route.handler, parameters: parameters) }
            allowed.append(route.method)
        }
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

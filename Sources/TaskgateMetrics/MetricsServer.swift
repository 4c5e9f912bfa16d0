import Logging
import TaskgateHTTP

/// A small HTTP server on the project's own HTTP module that serves one ``MetricsExposition`` at
/// `GET /metrics` (a worker's `--metrics-port`).
public final class MetricsServer: Sendable {
    private let server: HTTPServer

    /// Creates a server on `host`:`port` (0: any free port) for `exposition`; ``start()`` binds it.
    public init(host: String, port: Int, exposition: MetricsExposition, logger: Logger) {
        var configuration = HTTPServerConfiguration(host: host, port: port)
        configuration.threads = 1
        server = HTTPServer(configuration: configuration, responder: Responder(exposition: exposition), logger: logger)
    }

    /// The bound port (after ``start()``).
    public var port: Int { server.port }

    /// Starts listening.
    public func start() throws(HTTPServerError) {
        try server.start()
    }

    /// Stops listening.
    public func stop() {
        server.stop()
    }

    /// `GET` (and `HEAD`) `/metrics`; anything else a problem.
    private struct Responder: HTTPResponder {
        let exposition: MetricsExposition

        func preflight(_ head: HTTPRequest) -> HTTPResponse? {
            guard head.path == "/metrics" else {
                return Self.problem(404, "not-found", "Not Found", "only /metrics is served here")
            }
            guard head.method == "GET" || head.method == "HEAD" else {
                var response = Self.problem(405, "method-not-allowed", "Method Not Allowed", "use GET")
                response.headers.append(("Allow", "GET, HEAD"))
                return response
            }
            return nil
        }

        func respond(to request: HTTPRequest) -> HTTPResponse {
            preflight(request) ?? exposition.response()
        }

        func payloadTooLarge(_ head: HTTPRequest, limit: Int) -> HTTPResponse {
            Self.problem(413, "payload-too-large", "Payload Too Large", "no request body is read here")
        }

        private static func problem(_ status: Int, _ code: String, _ title: String, _ detail: String) -> HTTPResponse {
            let body =
                "{\"type\":\"urn:taskgate:problem:\(code)\",\"title\":\"\(title)\",\"status\":\(status),\"detail\":\"\(detail)\"}"
            return HTTPResponse(
                status: status, headers: [("Content-Type", "application/problem+json")], body: Array(body.utf8))
        }
    }
}

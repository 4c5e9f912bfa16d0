import AsyncHTTPClient
import NIOCore

/// The HTTP client every outbound call of a worker uses, push targets and completion callbacks alike:
/// async-http-client with redirects refused, no decompression, a connect timeout and a keep-alive pool.
enum OutboundHTTP {
    /// A client keeping up to `connectionsPerHost` connections to each host.
    static func client(connectionsPerHost: Int, connectTimeout: Duration) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .milliseconds(connectTimeout.milliseconds))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connectionsPerHost))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The first `limit` bytes of the body; a longer body is not read further (its connection is closed).
    static func head(of body: HTTPClientResponse.Body, limit: Int) async throws -> [UInt8] {
        var kept: [UInt8] = []
        for try await chunk in body {
            kept.append(contentsOf: chunk.readableBytesView.prefix(limit - kept.count))
            if kept.count >= limit { break }
        }
        return kept
    }
}

import CoreMetrics
import Prometheus
import TaskgateHTTP

/// A process's metrics: made through swift-metrics on a Prometheus registry of their own, and written out in
/// the Prometheus text format.
///
/// A registry per instance rather than swift-metrics' global bootstrap, so that several gateways or workers
/// in one process (tests, embedding) keep apart.
public final class MetricsExposition: Sendable {
    /// The Prometheus registry the metrics live in.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory over ``registry``: `Counter(label:dimensions:factory:)` and the like.
    public let factory: any MetricsFactory

    /// Creates an empty exposition; `durationBuckets` are the histogram buckets of the named timers.
    public init(durationBuckets: [String: [Duration]] = [:]) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = durationBuckets
        self.registry = registry
        self.factory = factory
    }

    /// The media type of the text format, version 0.0.4 (what Prometheus scrapes).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every metric in the text format.
    public func text() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// A `200` answer with every metric.
    public func response() -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", Self.contentType)], body: text())
    }

    /// Buckets for run times from a millisecond to ten minutes.
    public static let runTimeBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        .seconds(300), .seconds(600),
    ]

    /// Buckets for HTTP answers from 100 microseconds to ten seconds.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
}

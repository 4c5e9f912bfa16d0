// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "taskgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "taskgate", targets: ["taskgate"]),
        .executable(name: "taskgate-bench-worker", targets: ["taskgate-bench-worker"]),
        // The types handlers and clients share (TaskResult, JSONValue, TaskRecord), importable by embedders.
        .library(name: "TaskgateCore", targets: ["TaskgateCore"]),
        .library(name: "TaskgateWorker", targets: ["TaskgateWorker"]),
        .library(name: "TaskgateGateway", targets: ["TaskgateGateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // Outbound HTTP (push targets, callbacks) and the two digests come from Debian's prebuilt libcurl and
        // OpenSSL, as HTTP serving and Redis come from libmicrohttpd and hiredis: compiling SwiftNIO, NIOSSL and
        // BoringSSL (twice) for them was most of a first build (see README, Building).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "TaskgateCrypto",
            dependencies: ["COpenSSL"]
        ),
        .target(
            name: "TaskgateRedis",
            dependencies: ["CHiredis", "TaskgateCrypto"]
        ),
        .target(
            name: "TaskgateHTTP",
            dependencies: [
                "CMicroHTTPD",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TaskgateMetrics",
            dependencies: [
                "TaskgateHTTP",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TaskgateCore",
            dependencies: [
                "TaskgateRedis",
                "TaskgateCrypto",
            ]
        ),
        .target(
            name: "TaskgateGateway",
            dependencies: [
                "TaskgateCore",
                "TaskgateHTTP",
                "TaskgateMetrics",
                "TaskgateRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The dashboard's files, compiled into the binary as byte arrays (`PackageResources`): no files to ship
            // beside it, no build step.
            resources: [
                .embedInCode("Dashboard/Assets/index.html"),
                .embedInCode("Dashboard/Assets/app.css"),
                .embedInCode("Dashboard/Assets/icon.svg"),
                .embedInCode("Dashboard/Assets/actions.js"),
                .embedInCode("Dashboard/Assets/api.js"),
                .embedInCode("Dashboard/Assets/app.js"),
                .embedInCode("Dashboard/Assets/batch-view.js"),
                .embedInCode("Dashboard/Assets/dom.js"),
                .embedInCode("Dashboard/Assets/event-reader.js"),
                .embedInCode("Dashboard/Assets/queue-view.js"),
                .embedInCode("Dashboard/Assets/queues.js"),
                .embedInCode("Dashboard/Assets/schedules.js"),
                .embedInCode("Dashboard/Assets/state.js"),
                .embedInCode("Dashboard/Assets/task-view.js"),
                .embedInCode("Dashboard/Assets/token.js"),
            ]
        ),
        .target(
            name: "TaskgateWorker",
            dependencies: [
                "CCurl",
                "TaskgateCore",
                "TaskgateHTTP",
                "TaskgateMetrics",
                "TaskgateRedis",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        .executableTarget(
            name: "taskgate",
            dependencies: [
                "TaskgateGateway",
                "TaskgateMetrics",
                "TaskgateWorker",
                "TaskgateCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "taskgate-bench-worker",
            dependencies: [
                "TaskgateWorker",
                "TaskgateCore",
                "TaskgateRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "TaskgateTests",
            dependencies: [
                "TaskgateCore",
                "TaskgateCrypto",
                "TaskgateRedis",
                "TaskgateHTTP",
                "TaskgateGateway",
                "TaskgateWorker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

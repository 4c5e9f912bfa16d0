import Foundation
import Synchronization
import TaskgateRedis

/// A real `redis-server` on a private port, started by the tests (or named by `TASKGATE_TEST_REDIS_URL`).
final class RedisServer: Sendable {
    let port: Int
    let directory: URL
    let extraArguments: [String]
    let password: String?
    /// The configuration of a server or cluster the test did not start (`TASKGATE_TEST_REDIS_URL`).
    private let external: (configuration: RedisConfiguration, url: String)?
    private let process = Mutex<SpawnedProcess?>(nil)

    /// The server every test shares, each with its own key prefix; never flushed. `TASKGATE_TEST_REDIS_URL`
    /// names one already running: a `redis://` server, or a `redis+cluster://` cluster (the suite then runs on
    /// it as on one server; see `scripts/test`).
    static let shared: RedisServer = {
        if let url = ProcessInfo.processInfo.environment["TASKGATE_TEST_REDIS_URL"],
            let configuration = try? RedisConfiguration(url: url)
        {
            return RedisServer(external: configuration, url: url)
        }
        let server = RedisServer()
        try! server.start()
        sharedPID.withLock { $0 = server.pid }
        atexit {
            if let pid = RedisServer.sharedPID.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
        return server
    }()

    private static let sharedPID = Mutex<pid_t?>(nil)

    /// A server of the test's own, for tests that stop and restart it; `password` turns on `requirepass`,
    /// `persistent` an append-only file synced on every write, so data survives ``stop()`` and ``restart()``;
    /// `settings` are more `redis-server` arguments, after these (so they win); `port` is a free one unless given.
    init(password: String? = nil, persistent: Bool = false, settings: [String] = [], port: Int? = nil) {
        self.password = password
        external = nil
        extraArguments =
            (password.map { ["--requirepass", $0] } ?? [])
            + (persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]) + settings
        self.port = port ?? freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskgate-redis-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private init(external configuration: RedisConfiguration, url: String) {
        password = configuration.password
        extraArguments = ["--appendonly", "no"]
        port = configuration.port
        directory = FileManager.default.temporaryDirectory
        var tuned = configuration
        tuned.connectTimeoutMilliseconds = 500
        external = (tuned, url)
    }

    /// Whether the tests run against a Redis Cluster (`TASKGATE_TEST_REDIS_URL=redis+cluster://...`).
    var isCluster: Bool { external?.configuration.cluster != nil }

    var url: String { external?.url ?? "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)/0" }

    var configuration: RedisConfiguration {
        if let external { return external.configuration }
        return RedisConfiguration(
            host: "127.0.0.1", port: port, password: password, connectTimeoutMilliseconds: 500,
            commandTimeoutMilliseconds: 2000)
    }

    var pid: pid_t? { process.withLock { $0?.pid } }

    /// Starts the server and waits until it answers PING.
    func start() throws {
        let child = try SpawnedProcess(
            Self.serverPath,
            [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "",
                "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning",
            ] + extraArguments,
            environment: ProcessInfo.processInfo.environment, outputPath: "/dev/null")
        process.withLock { $0 = child }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let connection = try? RedisConnection(configuration: configuration),
                (try? connection.send(RedisCommand("PING"))) != nil
            {
                return
            }
            usleep(20_000)
        }
        throw TestFailure("redis-server on port \(port) did not answer within 10 s")
    }

    /// Stops the server (SIGKILL: children of the test runner inherit its blocked SIGTERM) and waits for it to exit.
    func stop() {
        guard
            let child = process.withLock({ current -> SpawnedProcess? in
                defer { current = nil }
                return current
            })
        else { return }
        kill(child.pid, SIGKILL)
        child.waitUntilExit()
    }

    /// Starts the server again on the same port (after ``stop()``).
    func restart() throws {
        try start()
    }

    /// A fresh connection.
    func connect() throws -> RedisConnection {
        try RedisConnection(configuration: configuration)
    }

    private static var serverPath: String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "/usr/bin/redis-server"
    }
}

/// A port nobody listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

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
    /// Connections to this server that tests reuse (``TestNamespace/pool``); emptied when the server stops.
    let pool: RedisConnectionPool

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
        pool = RedisConnectionPool(
            configuration: Self.ownConfiguration(port: self.port, password: password), maxIdle: 64)
    }

    private init(external configuration: RedisConfiguration, url: String) {
        password = configuration.password
        extraArguments = ["--appendonly", "no"]
        port = configuration.port
        directory = FileManager.default.temporaryDirectory
        var tuned = configuration
        tuned.connectTimeoutMilliseconds = 500
        external = (tuned, url)
        pool = RedisConnectionPool(configuration: tuned, maxIdle: 64)
    }

    /// Whether the tests run against a Redis Cluster (`TASKGATE_TEST_REDIS_URL=redis+cluster://...`).
    var isCluster: Bool { external?.configuration.cluster != nil }

    var url: String { external?.url ?? "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)/0" }

    var configuration: RedisConfiguration {
        if let external { return external.configuration }
        return Self.ownConfiguration(port: port, password: password)
    }

    private static func ownConfiguration(port: Int, password: String?) -> RedisConfiguration {
        RedisConfiguration(
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
            environment: ProcessInfo.processInfo.environment,
            outputPath: directory.appendingPathComponent("redis.log").path)
        process.withLock { $0 = child }
        pool.drain()
        // Called from a test's own thread (TestThreadPool) or the suite's first touch of `shared`: polling here
        // holds no thread of the cooperative pool.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var last = "no answer yet"
        while clock.now < deadline {
            do {
                _ = try RedisConnection(configuration: configuration).send(RedisCommand("PING"))
                return
            } catch {
                last = "\(error)"
            }
            guard child.isRunning else { break }
            usleep(20_000)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        throw TestFailure(
            "redis-server on port \(port) did not answer PING within 10 s (exited: \(!child.isRunning), last: \(last)); "
                + "its log ends: \(log.split(separator: "\n").suffix(3).joined(separator: " | "))")
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
        pool.drain()
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

/// A port nobody listens on right now, below the kernel's ephemeral range (32768 and up by default), so no
/// outgoing connection can take it between this call and the server binding it, nor while a test restarts a
/// server on it; handed out once per run (a counter), so two tests starting servers at once never get the same.
func freePort() -> Int {
    while true {
        let candidate = nextPort.withLock { next -> Int in
            defer { next = next >= 32_000 ? 20_000 : next + 1 }
            return next
        }
        if canBind(candidate) { return candidate }
    }
}

/// Where the next ``freePort()`` looks: a start that differs per process, so two test runs at once rarely meet.
private let nextPort = Mutex<Int>(20_000 + Int(getpid() % 400) * 30)

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

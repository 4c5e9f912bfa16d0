import Foundation
import Synchronization
import Testing

/// Threads made for the tests' own code, so that a test blocking in a hiredis call, `recv`, `waitpid` or a
/// poll never holds one of Swift concurrency's few shared threads (one per core: two on CI).
///
/// Every suite runs its tests with this pool as their task executor preference (``DedicatedThreads``): the test
/// body and its child tasks run here, on threads the kernel schedules, while the in-process gateways and
/// workers under test keep the cooperative pool to themselves. The pool is wider than the number of tests
/// that run at once (`scripts/test` sets that width), so a test that blocks stalls only itself.
final class TestThreadPool: TaskExecutor, @unchecked Sendable {
    // @unchecked: the job queue is guarded by `condition`; the threads are started once in init and never
    // touched again.
    /// The pool every suite's tests run on.
    static let shared = TestThreadPool(threads: 48)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0

    init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.serve() }
            thread.name = "test-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head > 1024, head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }
}

/// The moment the running test began, on the monotonic clock (set by ``DedicatedThreads``), so a timeout can
/// say how long its test had been running before the wait began.
enum TestClock {
    @TaskLocal static var started: ContinuousClock.Instant?

    /// How long the current test has run, in seconds, or `nil` outside a test.
    static var elapsed: Double? {
        started.map { (ContinuousClock.now - $0).seconds }
    }
}

/// Runs each test of a suite on ``TestThreadPool`` and notes when it began (``TestClock``).
struct DedicatedThreads: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        let started = ContinuousClock.now
        defer { TestTimings.shared.record(test, seconds: (ContinuousClock.now - started).seconds) }
        try await TestClock.$started.withValue(started) {
            try await withTaskExecutorPreference(TestThreadPool.shared) { try await function() }
        }
    }
}

/// Each test's own running time (from its start, not from the start of the run as swift-testing's "passed after"
/// counts it, which includes the time a test sat queued), appended to the file `TASKGATE_TEST_TIMINGS` names:
/// `scripts/test` prints the slowest from it.
final class TestTimings: Sendable {
    static let shared = TestTimings(path: ProcessInfo.processInfo.environment["TASKGATE_TEST_TIMINGS"])

    private let file: Mutex<FileHandle?>

    init(path: String?) {
        file = Mutex(
            path.flatMap { path in
                if !FileManager.default.fileExists(atPath: path) {
                    _ = FileManager.default.createFile(atPath: path, contents: nil)
                }
                let handle = FileHandle(forWritingAtPath: path)
                handle?.seekToEndOfFile()
                return handle
            })
    }

    func record(_ test: Test, seconds: Double) {
        let line = String(format: "%.3f\t", seconds) + "\(test.id)\n"
        file.withLock { $0?.write(Data(line.utf8)) }
    }
}

extension Trait where Self == DedicatedThreads {
    /// The suite's tests run on threads of their own (``TestThreadPool``), never on the cooperative pool.
    static var dedicatedThreads: Self { Self() }
}

extension Duration {
    /// The duration in seconds, with its fraction.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}

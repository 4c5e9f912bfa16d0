import Foundation
import Synchronization

/// A child process started with `posix_spawn`, for tests.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3.1) crashes now and then: it reads 256 bytes past each
/// `/proc/self/fd` entry while closing descriptors (swift-corelibs-foundation PR #5472), and a suite that
/// starts hundreds of children hit it about one run in five. This starts the child directly instead, with
/// its own signal mask and dispositions reset and no descriptor but its standard ones, and reaps it with `waitpid`.
final class SpawnedProcess: Sendable {
    /// The child's process id.
    let pid: pid_t
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` and `environment`; standard output and error go to `outputPath`
    /// (appended), standard input reads from /dev/null.
    init(_ executable: String, _ arguments: [String], environment: [String: String], outputPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the test process reaches the child: without this a child inherits whatever descriptor
        // another test had open at that instant (a listening receiver, a socket bound to check a port is free) and
        // keeps it alive, so a port a test freed stays taken, or a listener it closed keeps accepting.
        _ = closeFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestFailure("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// Whether the child still runs (reaps it once it has exited).
    var isRunning: Bool { reap(blocking: false) == nil }

    /// The exit status (128 + signal when a signal ended it), or `nil` while it runs.
    var terminationStatus: Int32? { reap(blocking: false) }

    /// Waits for the child to exit and returns its status.
    @discardableResult
    func waitUntilExit() -> Int32 { reap(blocking: true) ?? -1 }

    /// Reaps the child if it has exited. The blocking `waitpid` runs outside the lock, so a caller waiting for
    /// the exit never holds up another asking whether it still runs; whichever call reaps it records the status
    /// (the other's `waitpid` then fails with ECHILD and reads it).
    private func reap(blocking: Bool) -> Int32? {
        if let known = status.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        var answer: pid_t
        repeat {
            answer = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
        } while answer < 0 && errno == EINTR
        guard answer == pid else {
            // ECHILD: another call reaped it and is about to record the status.
            while blocking && answer < 0, status.withLock({ $0 }) == nil { sched_yield() }
            return status.withLock { $0 }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = raw & 0x7f
        let code = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status.withLock { current in
            if current == nil { current = code }
            return current
        }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc module does not declare
/// (it sits behind `_GNU_SOURCE`): looked up once, called through its C signature.
private let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
        fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
    }
    return unsafeBitCast(
        symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

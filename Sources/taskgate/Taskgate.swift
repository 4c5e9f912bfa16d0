import ArgumentParser
import Glibc
import Logging

/// The `taskgate` command: one binary, the role chosen by subcommand.
@main
struct Taskgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taskgate",
        abstract: "An HTTP task gateway on Redis, and the workers that run its tasks.",
        discussion: "Every option can also be set by the environment variable named in its help.",
        subcommands: [
            ServeCommand.self, WorkerCommand.self, QueuesCommand.self, TasksCommand.self, TaskCommand.self,
            RequeueCommand.self, CancelCommand.self, DeleteCommand.self, PauseCommand.self, ResumeCommand.self,
            EnqueueCommand.self, SchedulesCommand.self, ScheduleCommand.self, BatchCommand.self, TokenCommand.self,
        ]
    )

    /// Process-wide setup shared by both roles: signals unblocked, SIGPIPE ignored (hiredis writes with write()), logging to stderr.
    static func bootstrap(logLevel: String?, logFormat: String? = nil) throws -> Logger {
        // A parent may hand us a blocked signal mask (Foundation's Process does, from a dispatch thread):
        // unblock everything so SIGTERM and SIGINT reach the graceful shutdown handlers.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        signal(SIGPIPE, SIG_IGN)
        let levelName = logLevel ?? Settings.string("TASKGATE_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError(
                "log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let format = logFormat ?? Settings.string("TASKGATE_LOG_FORMAT") ?? "text"
        switch format {
        case "text":
            LoggingSystem.bootstrap { label in
                var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
                handler.logLevel = level
                return handler
            }
        case "json":
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        default:
            throw ValidationError("log format must be text or json, got \(format)")
        }
        return Logger(label: "taskgate")
    }
}

import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate schedule set|show|delete|pause|resume|trigger NAME`: one schedule, through the seam the HTTP API uses.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Create, show, delete, pause, resume or trigger one schedule.",
        subcommands: [
            ScheduleSetCommand.self, ScheduleShowCommand.self, ScheduleDeleteCommand.self, SchedulePauseCommand.self,
            ScheduleResumeCommand.self, ScheduleTriggerCommand.self,
        ])
}

/// A command whose argument is one schedule name.
protocol ScheduleNameCommand: ParsableCommand {
    var name: String { get }
    var options: OperatorOptions { get }
}

extension ScheduleNameCommand {
    func validate() throws {
        guard ScheduleName(name) != nil else { throw ValidationError(ScheduleName.rule) }
    }

    /// Runs `body` on the schedule and prints what it gives (exit 3 when there is no such schedule).
    func show(_ body: (ScheduleControl, ScheduleName) throws(TaskStoreError) -> ScheduleRecord?) throws {
        let control = try options.operations().schedules
        let record: ScheduleRecord?
        do throws(TaskStoreError) {
            record = try body(control, ScheduleName(name)!)
        } catch {
            throw OperatorExit.store(error)
        }
        guard let record else { throw OperatorExit.fail("taskgate: no schedule \(name)", code: OperatorExit.notFound) }
        ScheduleCommandOutput.print(record, json: options.json)
    }
}

/// How the schedule commands print one schedule.
enum ScheduleCommandOutput {
    static func print(_ record: ScheduleRecord, json: Bool) {
        let now = Timestamp.now.milliseconds
        if json {
            Console.json(ScheduleRepresentation.schedule(record, now: now).serializedBytes)
            return
        }
        SchedulesCommand.table([record], now: now)
        let upcoming = record.upcoming(ScheduleRepresentation.upcomingCount, now: now)
        Console.line("")
        Console.line("next runs: " + upcoming.map { Console.time(Timestamp(milliseconds: $0)) }.joined(separator: ", "))
        if !record.runs.isEmpty {
            Console.line("")
            Console.table(
                ["tick", "task", "fired_at", "kind"],
                record.runs.map {
                    [Console.time($0.tick), $0.taskID.rawValue, Console.time($0.firedAt), $0.kind.rawValue]
                })
        }
        if !record.misses.isEmpty {
            Console.line("")
            Console.table(
                ["missed_from", "missed_to", "count", "reason", "fired_late"],
                record.misses.map {
                    [
                        Console.time($0.from), Console.time($0.to), String($0.count), $0.reason.rawValue,
                        String($0.firedLate),
                    ]
                })
        }
    }
}

/// `taskgate schedule set NAME --cron EXPR ...`: creates or replaces a schedule, checked as `PUT /schedules/{name}`
/// checks it.
struct ScheduleSetCommand: ScheduleNameCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract:
            "Create or replace a schedule (a change of --cron or --timezone moves its next tick; nothing else does).")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The schedule's name ([A-Za-z0-9._-]{1,128}).")
    var name: String
    @Option(help: "Five cron fields, six with seconds first, or @hourly, @daily, @every 30s, ...")
    var cron: String
    @Option(help: "IANA time zone its wall times are read in. [default UTC]")
    var timezone: String?
    @Option(help: "Queue of the task each tick creates. [default default]")
    var queue: String?
    @Option(help: "Task type.")
    var type: String?
    @Option(help: "Payload, as JSON. [default null]")
    var payload: String?
    @Option(help: "Retries of each task. [default 5]")
    var maxRetries: Int?
    @Option(help: "Per-attempt time limit of each task, in seconds.")
    var timeout: Double?
    @Option(help: "URL each task's final record is POSTed to.")
    var callbackURL: String?
    @Option(help: "skip (only the latest missed tick fires) or all (every one within --misfire-window). [default skip]")
    var misfire: String?
    @Option(help: "With --misfire all, how far back missed ticks still fire, in seconds. [default 3600]")
    var misfireWindow: Int?
    @Option(help: "allow, skip or buffer_one: what a tick does while the last run is not final. [default allow]")
    var overlap: String?

    func run() throws {
        let definition: ScheduleDefinition
        let text = try body()
        do throws(TaskValidationError) {
            definition = try ScheduleDefinition(body: text)
        } catch {
            throw OperatorExit.fail(
                "taskgate: \(error.field.map { "\($0): " } ?? "")\(error.message)", code: OperatorExit.invalid)
        }
        // The template's queue is registered as an operator's change registers one, so it is listed before its
        // first task.
        try options.operations().registry.use(definition.task.queue)
        try show { control, name throws(TaskStoreError) in
            switch try control.put(name, definition) {
            case .created(let record), .updated(let record): return record
            case .full(let limit):
                throw TaskStoreError(.failed, "there are \(limit) schedules already; delete one first")
            }
        }
    }

    /// The `PUT /schedules/{name}` body the options stand for; a payload that is not JSON stays text, so the
    /// definition's check names it.
    private func body() throws -> [UInt8] {
        var task: [JSONMember] = []
        if let queue { task.append(JSONMember("queue", .string(queue))) }
        if let type { task.append(JSONMember("type", .string(type))) }
        if let payload {
            guard let value = try? JSONValue.parse(payload) else {
                throw OperatorExit.fail("taskgate: --payload is not JSON: \(payload)", code: OperatorExit.invalid)
            }
            task.append(JSONMember("payload", value))
        } else {
            task.append(JSONMember("payload", .null))
        }
        if let maxRetries { task.append(JSONMember("max_retries", .integer(maxRetries))) }
        if let timeout { task.append(JSONMember("timeout_seconds", .number(String(timeout)))) }
        if let callbackURL { task.append(JSONMember("callback_url", .string(callbackURL))) }
        var members = [JSONMember("cron", .string(cron))]
        if let timezone { members.append(JSONMember("timezone", .string(timezone))) }
        if let misfire { members.append(JSONMember("misfire", .string(misfire))) }
        if let misfireWindow { members.append(JSONMember("misfire_window_seconds", .integer(misfireWindow))) }
        if let overlap { members.append(JSONMember("overlap", .string(overlap))) }
        members.append(JSONMember("task", .object(task)))
        return JSONValue.object(members).serializedBytes
    }
}

/// `taskgate schedule show NAME`.
struct ScheduleShowCommand: ScheduleNameCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a schedule: next runs, last runs and misses.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The schedule's name.")
    var name: String

    func run() throws {
        try show { control, name throws(TaskStoreError) in try control.schedule(name) }
    }
}

/// `taskgate schedule delete NAME`.
struct ScheduleDeleteCommand: ScheduleNameCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a schedule and its history (tasks it fired stay).")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The schedule's name.")
    var name: String

    func run() throws {
        let control = try options.operations().schedules
        let deleted: Bool
        do throws(TaskStoreError) {
            deleted = try control.delete(ScheduleName(name)!)
        } catch {
            throw OperatorExit.store(error)
        }
        guard deleted else { throw OperatorExit.fail("taskgate: no schedule \(name)", code: OperatorExit.notFound) }
        if options.json {
            Console.json(JSONValue.object([JSONMember("deleted", .string(name))]).serializedBytes)
        } else {
            Console.line("deleted schedule \(name)")
        }
    }
}

/// `taskgate schedule pause NAME`.
struct SchedulePauseCommand: ScheduleNameCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a schedule: no tick fires until it is resumed.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The schedule's name.")
    var name: String

    func run() throws {
        try show { control, name throws(TaskStoreError) in try control.pause(name) }
    }
}

/// `taskgate schedule resume NAME`.
struct ScheduleResumeCommand: ScheduleNameCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract:
            "Resume a paused schedule (the ticks of the pause count as missed; under misfire skip the latest fires once)."
    )

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The schedule's name.")
    var name: String

    func run() throws {
        try show { control, name throws(TaskStoreError) in try control.resume(name) }
    }
}

/// `taskgate schedule trigger NAME`: fires it now.
struct ScheduleTriggerCommand: ScheduleNameCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger", abstract: "Fire a schedule now, paused or not: one task from its template.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The schedule's name.")
    var name: String

    func run() throws {
        let operations = try options.operations()
        let task: TaskRecord?
        do throws(TaskStoreError) {
            task = try operations.schedules.trigger(
                ScheduleName(name)!, now: Timestamp.now.milliseconds, store: operations.batchStore)
        } catch {
            throw OperatorExit.store(error)
        }
        guard let task else { throw OperatorExit.fail("taskgate: no schedule \(name)", code: OperatorExit.notFound) }
        if options.json {
            Console.json(task.json)
        } else {
            Console.line("fired \(name): task \(task.id.rawValue)")
        }
    }
}

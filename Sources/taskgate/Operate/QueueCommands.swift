import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate pause QUEUE`.
struct PauseCommand: QueueCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a queue: it still accepts tasks, but no worker starts one.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The queue.")
    var queue: String

    func run() throws {
        try QueueSettingsPrinter.change(QueueName(queue)!, options: options) { control, queue throws(TaskStoreError) in
            try control.pause(queue)
        }
    }
}

/// `taskgate resume QUEUE`.
struct ResumeCommand: QueueCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused queue.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The queue.")
    var queue: String

    func run() throws {
        try QueueSettingsPrinter.change(QueueName(queue)!, options: options) { control, queue throws(TaskStoreError) in
            try control.resume(queue)
        }
    }
}

/// How pause and resume print a queue's settings.
enum QueueSettingsPrinter {
    static func change(
        _ queue: QueueName, options: OperatorOptions,
        _ body: (QueueControl, QueueName) throws(TaskStoreError) -> QueueControl.Settings
    ) throws {
        let operations = try options.operations()
        let settings: QueueControl.Settings
        do throws(TaskStoreError) {
            settings = try body(operations.control, queue)
        } catch {
            throw OperatorExit.store(error)
        }
        if options.json {
            Console.json(QueueRepresentation.settings(queue, settings).serializedBytes)
        } else {
            Console.line("\(queue): \(settings.pausedAt.map { "paused since \(Console.time($0))" } ?? "running")")
        }
    }
}

/// `taskgate enqueue QUEUE --payload JSON`: a task stored as `POST /tasks` would store it.
struct EnqueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue", abstract: "Submit a task straight to Redis, checked as POST /tasks checks it.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The queue.")
    var queue: String
    @Option(help: "The payload: any JSON value.")
    var payload: String
    @Option(help: "The task's type.")
    var type: String?
    @Option(help: "Seconds to wait before it may run.")
    var delaySeconds: Double?
    @Option(help: "Retries after a failed attempt (0 to 100).")
    var maxRetries: Int?
    @Option(help: "Seconds an attempt may run.")
    var timeoutSeconds: Double?
    @Option(help: "A key that makes submitting twice store one task (kept 24 h).")
    var idempotencyKey: String?

    func run() throws {
        guard let queueName = QueueName(queue) else {
            throw ValidationError("queue names match [A-Za-z0-9._-]{1,64}")
        }
        let parsedPayload: JSONValue
        do {
            parsedPayload = try JSONValue.parse(payload)
        } catch {
            throw ValidationError("--payload is not JSON: \(error)")
        }
        var members = [JSONMember("queue", .string(queueName.rawValue)), JSONMember("payload", parsedPayload)]
        if let type { members.append(JSONMember("type", .string(type))) }
        if let delaySeconds { members.append(JSONMember("delay_seconds", .number(String(delaySeconds)))) }
        if let maxRetries { members.append(JSONMember("max_retries", .integer(maxRetries))) }
        if let timeoutSeconds { members.append(JSONMember("timeout_seconds", .number(String(timeoutSeconds)))) }
        let submission: TaskSubmission
        do {
            submission = try TaskSubmission(body: JSONValue.object(members).serializedBytes)
        } catch {
            throw ValidationError("\(error.field.map { "\($0): " } ?? "")\(error.message)")
        }
        var key: IdempotencyKey?
        if let idempotencyKey {
            guard let parsed = IdempotencyKey(idempotencyKey) else {
                throw ValidationError("--idempotency-key must be 1 to 255 printable ASCII characters")
            }
            key = parsed
        }
        let operations = try options.operations()
        operations.registry.use(queueName)
        let outcome: EnqueueOutcome
        do throws(TaskStoreError) {
            outcome = try operations.batchStore.enqueue(
                submission, idempotencyKey: key, idempotencyWindowMilliseconds: 86_400_000)
        } catch {
            throw OperatorExit.store(error)
        }
        switch outcome {
        case .created(let record), .replayed(let record):
            if options.json { Console.json(record.json) } else { Console.line(record.id.rawValue) }
        case .keyReused(let existing):
            throw OperatorExit.fail(
                "idempotency key already used for \(existing) with other content", code: OperatorExit.conflict)
        case .replayedExpired(let id):
            throw OperatorExit.fail("idempotency key's task \(id) has expired", code: OperatorExit.notFound)
        }
    }
}

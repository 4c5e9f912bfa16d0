import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate task ID`: one task's record.
struct TaskCommand: TaskIDCommand {
    static let configuration = CommandConfiguration(commandName: "task", abstract: "Show one task.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The task id (<queue>.<32 hex digits>).")
    var id: String

    func run() throws {
        let operations = try options.operations()
        let record: TaskRecord?
        do throws(TaskStoreError) {
            // With its children, when it has any (one more round trip).
            record = try operations.batchStore.task(TaskID(id)!).map { record throws(TaskStoreError) in
                try operations.batchStore.children(of: record)
            }
        } catch {
            throw OperatorExit.store(error)
        }
        guard let record else { throw OperatorExit.fail("no task \(id)", code: OperatorExit.notFound) }
        TaskPrinter.show(record, json: options.json)
    }
}

/// `taskgate requeue ID` or `taskgate requeue --all-dead QUEUE`.
struct RequeueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue", abstract: "Put a dead task, or every dead task of a queue, back to pending.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The dead task's id.")
    var id: String?
    @Option(name: .customLong("all-dead"), help: "Requeue every dead task of this queue instead.")
    var allDead: String?

    func validate() throws {
        switch (id, allDead) {
        case (let id?, nil):
            guard TaskID(id) != nil else { throw ValidationError("task ids look like <queue>.<32 hex digits>") }
        case (nil, let queue?):
            guard QueueName(queue) != nil else { throw ValidationError("queue names match [A-Za-z0-9._-]{1,64}") }
        default:
            throw ValidationError("give a task id or --all-dead QUEUE")
        }
    }

    func run() throws {
        let operations = try options.operations()
        if let queue = allDead.flatMap(QueueName.init) {
            do throws(TaskStoreError) {
                var total = 0
                var remaining = 0
                // Every dead task, 100,000 per pass (each pass in steps of 100).
                repeat {
                    let pass = try operations.tasks.requeueAllDead(in: queue)
                    total += pass.requeued
                    remaining = pass.remaining
                } while remaining > 0
                if options.json {
                    Console.line(#"{"queue":"\#(queue)","requeued":\#(total),"dead_remaining":0}"#)
                } else {
                    Console.line("requeued \(total) dead tasks of \(queue)")
                }
            } catch {
                throw OperatorExit.store(error)
            }
            return
        }
        try TaskPrinter.change(TaskID(id!)!, "requeue", options: options) { id throws(TaskStoreError) in
            try operations.tasks.requeue(id)
        }
    }
}

/// `taskgate cancel ID`.
struct CancelCommand: TaskIDCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a task: a waiting one never runs, a running one is stopped.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The task id.")
    var id: String

    func run() throws {
        let operations = try options.operations()
        try TaskPrinter.change(TaskID(id)!, "cancel", options: options) { id throws(TaskStoreError) in
            try operations.tasks.cancel(id)
        }
    }
}

/// `taskgate delete ID`.
struct DeleteCommand: TaskIDCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a task that is not running, with its record.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The task id.")
    var id: String

    func run() throws {
        let operations = try options.operations()
        try TaskPrinter.change(TaskID(id)!, "delete", options: options) { id throws(TaskStoreError) in
            try operations.tasks.delete(id)
        }
    }
}

/// How the task commands print: the record as JSON (the HTTP API's shape) or as aligned fields.
enum TaskPrinter {
    static func show(_ record: TaskRecord, json: Bool) {
        if json {
            Console.json(record.json)
            return
        }
        var rows = [
            ["id", record.id.rawValue], ["queue", record.queue.rawValue], ["type", record.type ?? "-"],
            ["state", record.state.rawValue], ["attempts", String(record.attempts)],
            ["retries", "\(record.retries) of \(record.maxRetries)"], ["created", Console.time(record.createdAt)],
            ["updated", Console.time(record.updatedAt)],
        ]
        if let runAt = record.runAt { rows.append(["run_at", Console.time(runAt)]) }
        if let started = record.startedAt { rows.append(["started", Console.time(started)]) }
        if let finished = record.finishedAt { rows.append(["finished", Console.time(finished)]) }
        if let error = record.lastError { rows.append(["last_error", error]) }
        if let result = record.result { rows.append(["result", result.json]) }
        rows.append(["payload", record.payload])
        let width = rows.map { $0[0].count }.max() ?? 0
        for row in rows {
            Console.line(row[0] + String(repeating: " ", count: width - row[0].count) + "  " + row[1])
        }
    }

    /// Runs a change through the control seam and prints its outcome; exits 3 for an unknown task, 4 for a
    /// state that does not allow it.
    static func change(
        _ id: TaskID, _ action: String, options: OperatorOptions,
        _ body: (TaskID) throws(TaskStoreError) -> TaskControl.Outcome
    ) throws {
        let operations = try options.operations()
        let outcome: TaskControl.Outcome
        let record: TaskRecord?
        do throws(TaskStoreError) {
            outcome = try body(id)
            record = try operations.batchStore.task(id)
        } catch {
            throw OperatorExit.store(error)
        }
        switch outcome {
        case .unknown:
            throw OperatorExit.fail("no task \(id)", code: OperatorExit.notFound)
        case .refused(let state):
            throw OperatorExit.fail(
                "cannot \(action) \(id): it is \(state?.rawValue ?? "in no known state")", code: OperatorExit.conflict)
        case .done(let was):
            if let record {
                if options.json {
                    Console.json(record.json)
                } else {
                    Console.line("\(action): \(id) was \(was?.rawValue ?? "?"), is \(record.state.rawValue)")
                }
            } else if options.json {
                Console.line(#"{"id":"\#(id)","deleted":true,"was":"\#(was?.rawValue ?? "")"}"#)
            } else {
                Console.line("\(action): \(id) was \(was?.rawValue ?? "?"), is deleted")
            }
        }
    }

}

import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate tasks QUEUE --state dead`: one state of a queue's tasks, newest first.
struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "List a queue's tasks in one state, newest first.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The queue.")
    var queue: String
    @Option(help: "waiting, pending, scheduled, retrying, active or dead.")
    var state: String = "dead"
    @Flag(help: "The tasks waiting for their parents (the same as --state waiting).")
    var waiting = false
    @Option(help: "Only tasks of this type.")
    var type: String?
    @Option(help: "Only tasks whose last error contains this text (any case).")
    var error: String?
    @Option(help: "The most tasks to list (1 to 1000).")
    var limit: Int = 50
    @Option(help: "Go on from the cursor a previous listing printed.")
    var cursor: String?

    func validate() throws {
        guard QueueName(queue) != nil else { throw ValidationError("queue names match [A-Za-z0-9._-]{1,64}") }
        guard let parsed = TaskState(rawValue: state), TaskListing.listableStates.contains(parsed) else {
            throw ValidationError(
                "state must be one of " + TaskListing.listableStates.map(\.rawValue).joined(separator: ", "))
        }
        guard (1...TaskListing.maxLimit).contains(limit) else { throw ValidationError("limit must be 1 to 1000") }
        if let cursor, TaskCursor(cursor) == nil { throw ValidationError("cursor must be one a listing printed") }
    }

    func run() throws {
        let operations = try options.operations()
        let listing = TaskListing(
            state: waiting ? .waiting : TaskState(rawValue: state)!, type: type, errorContains: error, limit: limit,
            cursor: cursor.flatMap(TaskCursor.init))
        let page: TaskPage
        do throws(TaskStoreError) {
            page = try operations.inspector.tasks(in: QueueName(queue)!, listing)
        } catch {
            throw OperatorExit.store(error)
        }
        if options.json {
            Console.json(QueueRepresentation.tasks(page).serializedBytes)
            return
        }
        Console.table(
            ["id", "type", "attempts", "retries", "updated", "last_error"],
            page.tasks.map { task in
                let error = task.lastError.map { $0.count > 60 ? String($0.prefix(57)) + "..." : $0 } ?? "-"
                return [
                    task.id.rawValue, task.type ?? "-", String(task.attempts), String(task.retries),
                    Console.time(task.updatedAt), error.replacingOccurrences(of: "\n", with: " "),
                ]
            })
        if let next = page.next { Console.line("more: --cursor \(next)") }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

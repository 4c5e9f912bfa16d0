import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate batch show ID`: a batch's counts, completion and webhook.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Look at a batch of tasks.", subcommands: [BatchShowCommand.self])
}

/// `taskgate batch show ID`: one batch, as `GET /batches/{id}` shows it. Cost: one `HGETALL`.
struct BatchShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a batch: its counts per state, whether it is complete, its webhook.")

    @OptionGroup var options: OperatorOptions
    @Argument(help: "The batch id (as POST /tasks/batch answered it).")
    var id: String

    func validate() throws {
        guard BatchRecord.isValidID(id) else {
            throw ValidationError("batch ids are 1 to 64 characters from [A-Za-z0-9._-]")
        }
    }

    func run() throws {
        let operations = try options.operations()
        let record: BatchRecord?
        do throws(TaskStoreError) {
            record = try operations.batchStore.batch(id)
        } catch {
            throw OperatorExit.store(error)
        }
        guard let record else { throw OperatorExit.fail("no batch \(id)", code: OperatorExit.notFound) }
        if options.json {
            Console.json(record.json)
            return
        }
        let complete = record.complete ? (record.allSucceeded ? "yes, all succeeded" : "yes, not all succeeded") : "no"
        var rows = [
            ["id", record.id], ["total", String(record.total)], ["succeeded", String(record.succeeded)],
            ["dead", String(record.dead)], ["cancelled", String(record.cancelled)],
            ["unfinished", String(record.unfinished)], ["complete", complete],
            ["created", Console.time(record.createdAt)], ["completed", Console.time(record.completedAt)],
            ["expires", Console.time(record.expiresAt)], ["metadata", record.metadata ?? "-"],
        ]
        if let url = record.callbackURL {
            let state = record.callback.map { "\($0.state.rawValue), \($0.tries) tries" } ?? "not yet due"
            rows.append(["webhook", "\(url) (\(state))"])
        }
        Console.table(["field", "value"], rows)
    }
}

import ArgumentParser
import TaskgateCore
import TaskgateGateway

/// `taskgate schedules`: every schedule with its timing, next and last run, and counts.
struct SchedulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "List the schedules: cron, zone, queue, paused, next and last run, counts.")

    @OptionGroup var options: OperatorOptions

    func run() throws {
        let control = try options.operations().schedules
        var records: [ScheduleRecord] = []
        var cursor: ScheduleName?
        do throws(TaskStoreError) {
            repeat {
                let page = try control.list(after: cursor, limit: ScheduleControl.maxPage)
                records += page.schedules
                cursor = page.next
            } while cursor != nil
        } catch {
            throw OperatorExit.store(error)
        }
        let now = Timestamp.now.milliseconds
        if options.json {
            Console.json(ScheduleRepresentation.page(records, next: nil, now: now).serializedBytes)
        } else {
            Self.table(records, now: now)
        }
    }

    /// The schedule table.
    static func table(_ records: [ScheduleRecord], now: Int) {
        Console.table(
            ["name", "cron", "timezone", "queue", "paused", "next_run", "last_run", "last_task", "runs", "missed"],
            records.map { record in
                [
                    record.name.rawValue, record.definition.cron, record.definition.timezone,
                    record.definition.task.queue.rawValue, record.pausedAt == nil ? "no" : "yes",
                    Console.time(record.upcoming(1, now: now).first.map(Timestamp.init(milliseconds:))),
                    Console.time(record.lastRun?.tick), record.lastRun?.taskID.rawValue ?? "-",
                    String(record.firedCount), String(record.missedCount),
                ]
            })
    }
}
